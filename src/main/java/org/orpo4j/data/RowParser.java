package org.orpo4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.orpo4j.data.template.TemplateException;

/**
 * Turns one JSON record into prompt/chosen/rejected texts, in TRL's three shapes: standard strings;
 * conversational (prompt messages, answers as assistant messages, rendered with the chat template);
 * implicit prompt (only chosen/rejected conversations: their shared leading messages are the prompt).
 * Every problem is a {@link BadRowException} naming the field.
 */
final class RowParser {

    /** The texts of one row, after any chat template. */
    record Texts(String prompt, String chosen, String rejected) {}

    private final DataOptions options;
    private final ChatTemplate template; // nullable

    RowParser(DataOptions options, ChatTemplate template) {
        this.options = options;
        this.template = template;
    }

    Texts parse(JsonNode row) {
        if (row == null || !row.isObject()) {
            throw new BadRowException("json", "expected a JSON object per row");
        }
        String chosenField = options.chosenField();
        String rejectedField = options.rejectedField();
        JsonNode chosen = required(row, chosenField);
        JsonNode rejected = required(row, rejectedField);
        if (chosen.isTextual()) {
            String prompt = string(required(row, options.promptField()), options.promptField());
            String c = string(chosen, chosenField);
            String r = string(rejected, rejectedField);
            checkAnswers(c, r);
            return new Texts(prompt, c, r);
        }
        if (!chosen.isArray()) {
            throw new BadRowException(chosenField, "expected a string or a list of messages, got " + kind(chosen));
        }
        List<ChatMessage> c = messages(chosen, chosenField);
        List<ChatMessage> r = messages(requireArray(rejected, rejectedField), rejectedField);
        if (c.equals(r)) {
            throw new BadRowException(rejectedField, "identical to " + chosenField);
        }
        List<ChatMessage> prompt;
        JsonNode promptNode = row.get(options.promptField());
        // TRL's maybe_extract_prompt: a string prompt beside conversational answers (HuggingFaceH4's
        // ultrafeedback_binarized) is replaced by the messages the answers share
        if (promptNode == null || promptNode.isNull() || promptNode.isTextual()) {
            int shared = 0;
            while (shared < Math.min(c.size(), r.size()) && c.get(shared).equals(r.get(shared))) {
                shared++;
            }
            if (shared == 0) {
                throw new BadRowException(chosenField, "no prompt field and no leading messages shared with "
                        + rejectedField + " (implicit prompt is empty)");
            }
            prompt = c.subList(0, shared);
            c = c.subList(shared, c.size());
            r = r.subList(shared, r.size());
        } else {
            prompt = messages(requireArray(promptNode, options.promptField()), options.promptField());
            if (prompt.isEmpty()) {
                throw new BadRowException(options.promptField(), "empty list of messages");
            }
        }
        if (c.isEmpty() || r.isEmpty()) {
            throw new BadRowException(c.isEmpty() ? chosenField : rejectedField, "empty (no answer message)");
        }
        for (ChatMessage m : c) {
            if (m.content().isEmpty()) {
                throw new BadRowException(chosenField, "empty answer");
            }
        }
        for (ChatMessage m : r) {
            if (m.content().isEmpty()) {
                throw new BadRowException(rejectedField, "empty answer");
            }
        }
        return render(prompt, c, r);
    }

    /**
     * TRL's maybe_apply_chat_template: the prompt with the generation prompt (or continuing a final assistant
     * message), each answer as the render of prompt + answer minus the common prefix with the prompt render.
     */
    private Texts render(List<ChatMessage> prompt, List<ChatMessage> chosen, List<ChatMessage> rejected) {
        if (template == null) {
            throw new BadRowException(options.promptField(), "conversational row but the tokenizer has no chat template");
        }
        String lastRole = prompt.get(prompt.size() - 1).role();
        boolean continueFinal = lastRole.equals("assistant");
        if (!continueFinal && !lastRole.equals("user")) {
            throw new BadRowException(options.promptField(), "the last prompt message must be user or assistant, got "
                    + lastRole);
        }
        try {
            String p = template.render(prompt, !continueFinal, continueFinal);
            String pc = template.render(concat(prompt, chosen), false);
            String pr = template.render(concat(prompt, rejected), false);
            int shared = Math.min(commonPrefix(p, pc), commonPrefix(p, pr));
            // the shared text is the prompt; a template that renders the prompt differently once answered
            // (e.g. a <think> block) keeps that difference in the answers, as TRL does
            return new Texts(pc.substring(0, shared), pc.substring(shared), pr.substring(shared));
        } catch (TemplateException e) {
            throw new BadRowException(options.promptField(), "chat template: " + e.getMessage());
        }
    }

    private static int commonPrefix(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        if (i > 0 && i < n && Character.isHighSurrogate(a.charAt(i - 1))) {
            i--; // never split a code point
        }
        return i;
    }

    private void checkAnswers(String chosen, String rejected) {
        if (chosen.isEmpty()) {
            throw new BadRowException(options.chosenField(), "empty answer");
        }
        if (rejected.isEmpty()) {
            throw new BadRowException(options.rejectedField(), "empty answer");
        }
        if (chosen.equals(rejected)) {
            throw new BadRowException(options.rejectedField(), "identical to " + options.chosenField());
        }
    }

    private static List<ChatMessage> concat(List<ChatMessage> a, List<ChatMessage> b) {
        List<ChatMessage> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static JsonNode required(JsonNode row, String field) {
        JsonNode v = row.get(field);
        if (v == null || v.isNull()) {
            throw new BadRowException(field, "missing");
        }
        return v;
    }

    private static String string(JsonNode v, String field) {
        if (!v.isTextual()) {
            throw new BadRowException(field, "expected a string, got " + kind(v));
        }
        return v.asText();
    }

    private static JsonNode requireArray(JsonNode v, String field) {
        if (!v.isArray()) {
            throw new BadRowException(field, "expected a list of messages, got " + kind(v));
        }
        return v;
    }

    private static List<ChatMessage> messages(JsonNode list, String field) {
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = field + "[" + i + "]";
            if (!m.isObject()) {
                throw new BadRowException(where, "expected a {role, content} message, got " + kind(m));
            }
            JsonNode role = m.get("role");
            JsonNode content = m.get("content");
            if (role == null || !role.isTextual()) {
                throw new BadRowException(where + ".role", role == null ? "missing" : "expected a string, got " + kind(role));
            }
            if (content == null || !content.isTextual()) {
                throw new BadRowException(where + ".content",
                        content == null ? "missing" : "expected a string, got " + kind(content));
            }
            out.add(new ChatMessage(role.asText(), content.asText()));
        }
        return out;
    }

    private static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case STRING -> "a string";
            default -> v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
