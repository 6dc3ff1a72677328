package org.orpo4j.data;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.orpo4j.data.template.JinjaEngine;
import org.orpo4j.data.template.TemplateException;

/**
 * A tokenizer's chat template, rendered as transformers' {@code apply_chat_template(..., tokenize=False)} does:
 * variables {@code messages}, {@code add_generation_prompt}, {@code tools=None} and the special tokens
 * ({@code bos_token}, {@code eos_token}, ...). Errors, the template's raise_exception included, throw
 * {@link TemplateException}.
 */
public final class ChatTemplate {

    private final String source;
    private final Map<String, String> specialTokens;
    private final Clock clock;
    private final String origin; // the file the template came from, or null

    /** A template with the special-token variables it may use (e.g. {@code bos_token -> <s>}). */
    public ChatTemplate(String source, Map<String, String> specialTokens) {
        this(source, specialTokens, Clock.systemDefaultZone(), null);
    }

    /** As {@link #ChatTemplate(String, Map)}, read from {@code origin}: errors in the template name that file. */
    public ChatTemplate(String source, Map<String, String> specialTokens, Path origin) {
        this(source, specialTokens, Clock.systemDefaultZone(), origin.toString());
    }

    ChatTemplate(String source, Map<String, String> specialTokens, Clock clock) {
        this(source, specialTokens, clock, null);
    }

    private ChatTemplate(String source, Map<String, String> specialTokens, Clock clock, String origin) {
        this.source = Objects.requireNonNull(source, "source");
        this.specialTokens = Map.copyOf(specialTokens);
        this.clock = clock;
        this.origin = origin;
    }

    /** The Jinja source. */
    public String source() {
        return source;
    }

    /** Renders {@code messages}, appending the assistant header when {@code addGenerationPrompt}. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, false);
    }

    /**
     * Renders {@code messages}; with {@code continueFinalMessage} the output stops right after the final
     * message's content (transformers' continue_final_message), so that the model continues that message.
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, boolean continueFinalMessage) {
        if (addGenerationPrompt && continueFinalMessage) {
            throw new IllegalArgumentException("add_generation_prompt and continue_final_message are exclusive");
        }
        List<Map<String, Object>> dicts = new ArrayList<>();
        for (ChatMessage m : messages) {
            dicts.add(m.toMap());
        }
        String rendered = renderRaw(dicts, addGenerationPrompt, Map.of());
        return continueFinalMessage ? cutAfterFinalMessage(rendered, messages.get(messages.size() - 1).content())
                : rendered;
    }

    /** Renders arbitrary message dicts and extra variables (e.g. {@code tools}) like transformers. */
    public String renderRaw(List<? extends Map<String, ?>> messages, boolean addGenerationPrompt,
            Map<String, ?> extraVariables) {
        Map<String, Object> variables = new LinkedHashMap<>(specialTokens);
        variables.put("messages", messages);
        variables.put("tools", null);
        variables.put("documents", null);
        variables.put("add_generation_prompt", addGenerationPrompt);
        variables.putAll(extraVariables);
        try {
            return JinjaEngine.get().render(source, variables, clock);
        } catch (TemplateException e) {
            if (origin == null || e.raisedByTemplate()) { // raise_exception speaks of the messages, not the file
                throw e;
            }
            throw new TemplateException(origin + ": chat template: " + e.getMessage(), false);
        }
    }

    /** transformers' continue_final_message cut, including its handling of trimmed trailing whitespace. */
    private static String cutAfterFinalMessage(String rendered, String finalMessage) {
        String stripped = finalMessage.strip();
        int at = rendered.lastIndexOf(stripped);
        if (at < 0) {
            throw new TemplateException("continue_final_message: the final message does not appear in the "
                    + "rendered chat (the template changes it)", false);
        }
        int lstrippedLength = finalMessage.stripLeading().length();
        // transformers: rendered[at : at + len(lstrip)] == final_message -> keep the trailing whitespace
        boolean keepsSpacing = lstrippedLength == finalMessage.length() && rendered.startsWith(finalMessage, at);
        return rendered.substring(0, at + (keepsSpacing ? lstrippedLength : stripped.length()));
    }
}
