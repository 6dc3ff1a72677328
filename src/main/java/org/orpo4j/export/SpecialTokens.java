package org.orpo4j.export;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The special-token part of a GGUF vocabulary as the gguf package's {@code SpecialVocab} derives it: merges, the
 * special token ids (tokenizer_config.json's tokens looked up among tokenizer.json's added tokens, then
 * config.json's {@code *_token_id}; the first found wins), whether BOS/EOS/SEP are added (from the post-processor,
 * then tokenizer_config.json's {@code add_*_token}), the chat template and the normalizer's flags.
 */
final class SpecialTokens {

    private static final Map<String, String> ID_KEYS = Map.of("bos", "tokenizer.ggml.bos_token_id",
            "eos", "tokenizer.ggml.eos_token_id", "unk", "tokenizer.ggml.unknown_token_id",
            "sep", "tokenizer.ggml.seperator_token_id", "pad", "tokenizer.ggml.padding_token_id",
            "mask", "tokenizer.ggml.mask_token_id", "eot", "tokenizer.ggml.eot_token_id",
            "eom", "tokenizer.ggml.eom_token_id");
    private static final Map<String, String> ADD_KEYS = Map.of("bos", "tokenizer.ggml.add_bos_token",
            "eos", "tokenizer.ggml.add_eos_token", "sep", "tokenizer.ggml.add_sep_token");

    private final TokenizerFiles files;
    private final Integer nVocab; // ids at or above it are skipped; null: no bound
    private final List<String> types;
    final List<String> merges = new ArrayList<>();
    final Map<String, Integer> ids = new LinkedHashMap<>();
    final Map<String, Boolean> add = new LinkedHashMap<>();
    String chatTemplate;
    Boolean lowercase;
    Boolean stripAccents;
    // tokenizer_config.json's token strings, as the post-processor may rewrite them
    private final Map<String, String> configTokens = new LinkedHashMap<>();

    SpecialTokens(TokenizerFiles files, boolean loadMerges, List<String> types, Integer nVocab) {
        this.files = files;
        this.nVocab = nVocab;
        this.types = new ArrayList<>(types);
        if (loadMerges) {
            loadMerges();
        }
        normalizer(files.tokenizer().path("normalizer"));
        fromTokenizerJson();
        fromModelConfig();
    }

    static List<String> defaultTypes() {
        return List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask");
    }

    private void loadMerges() {
        for (JsonNode m : files.model().path("merges")) {
            if (m.isTextual()) {
                merges.add(m.asText());
            } else if (m.isArray() && m.size() == 2) {
                // pairs (tokenizers >= 0.20) become "a b", a space inside a part written as U+0120 + 256
                merges.add(spaced(m.get(0).asText()) + " " + spaced(m.get(1).asText()));
            } else {
                throw new IllegalArgumentException(files.folder().resolve("tokenizer.json")
                        + ": model.merges: unknown merge format " + m);
            }
        }
    }

    private static String spaced(String part) {
        return part.replace(" ", String.valueOf((char) (' ' + 256)));
    }

    private void normalizer(JsonNode n) {
        switch (n.path("type").asText("")) {
            case "Lowercase" -> lowercase = true;
            case "StripAccents" -> stripAccents = true;
            case "BertNormalizer" -> {
                if (n.has("lowercase")) {
                    lowercase = n.get("lowercase").asBoolean();
                }
                if (n.has("strip_accents") && !n.get("strip_accents").isNull()) {
                    stripAccents = n.get("strip_accents").asBoolean();
                }
            }
            case "Sequence" -> n.path("normalizers").forEach(this::normalizer);
            default -> { }
        }
    }

    private void fromTokenizerJson() {
        JsonNode config = files.tokenizerConfig();
        boolean hasConfig = config.isObject() && config.size() > 0;
        for (String key : new String[] {"bos_token", "eos_token", "cls_token", "sep_token"}) {
            String t = files.configToken(key);
            if (t != null) {
                configTokens.put(key, t);
            }
        }
        if (configTokens.get("bos_token") == null && configTokens.get("cls_token") != null && hasConfig) {
            configTokens.put("bos_token", configTokens.get("cls_token"));
        }
        if (configTokens.get("eos_token") == null && configTokens.get("sep_token") != null && hasConfig) {
            configTokens.put("eos_token", configTokens.get("sep_token"));
        }
        JsonNode post = files.tokenizer().path("post_processor");
        if (post.isObject()) {
            JsonNode list = post.has("processors") ? post.get("processors") : null;
            if (list != null) {
                list.forEach(p -> postProcessor(p, hasConfig));
            } else {
                postProcessor(post, hasConfig);
            }
        }
        if (!hasConfig) {
            return;
        }
        JsonNode template = config.get("chat_template");
        if (template != null && template.isTextual()) {
            chatTemplate = template.asText();
        } else if (template == null && files.chatTemplateFile() != null) {
            chatTemplate = files.chatTemplateFile();
        } else if (template != null && template.isArray()) {
            throw new IllegalArgumentException(files.folder().resolve("tokenizer_config.json")
                    + ": chat_template: a list of named templates is not supported in GGUF export");
        }
        for (String typ : types) {
            JsonNode addEntry = config.get("add_" + typ + "_token");
            if (addEntry != null && addEntry.isBoolean()) {
                add.putIfAbsent(typ, addEntry.booleanValue());
            }
            String content = configTokens.containsKey(typ + "_token") ? configTokens.get(typ + "_token")
                    : files.configToken(typ + "_token");
            if (content == null) {
                continue;
            }
            for (JsonNode added : files.addedTokens()) {
                if (content.equals(added.path("content").asText(null))) {
                    set(typ, added.path("id"));
                    break;
                }
            }
        }
    }

    private void postProcessor(JsonNode p, boolean hasConfig) {
        switch (p.path("type").asText("")) {
            case "ByteLevel" -> {
                add.putIfAbsent("bos", false);
                add.putIfAbsent("eos", false);
            }
            case "RobertaProcessing" -> {
                add.put("bos", true);
                add.put("eos", true);
                add.put("sep", true);
            }
            case "TemplateProcessing" -> template(p, hasConfig);
            default -> { }
        }
    }

    /** The single-sequence template's leading and trailing special tokens decide add_bos and add_eos. */
    private void template(JsonNode p, boolean hasConfig) {
        JsonNode single = p.path("single");
        if (single.size() <= 1) {
            return;
        }
        String bos = configTokens.get("bos_token");
        String cls = configTokens.get("cls_token");
        String first = single.get(0).path("SpecialToken").path("id").asText(null);
        if (first != null && !first.isEmpty()) {
            if (!hasConfig) {
                bos = first;
            } else if (!first.equals(bos) && !first.equals(cls)) {
                if (bos == null) {
                    configTokens.put("bos_token", bos = first);
                }
                if (cls == null) {
                    configTokens.put("cls_token", cls = first);
                }
            }
            add.put("bos", first.equals(bos) || first.equals(cls));
        }
        String last = single.get(single.size() - 1).path("SpecialToken").path("id").asText(null);
        String eos = configTokens.get("eos_token");
        if (last != null && !last.isEmpty()) {
            if (hasConfig && !last.equals(eos)) {
                String fallback = !types.contains("eot") ? "eot" : !types.contains("eom") ? "eom" : null;
                if (fallback != null) {
                    types.add(fallback);
                    configTokens.put(fallback + "_token", eos);
                }
                configTokens.put("eos_token", eos = last);
            }
            add.put("eos", last.equals(eos) || !hasConfig);
        }
        JsonNode pair = p.path("pair");
        if (pair.size() > 0) {
            int from = first != null && first.equals(pair.get(0).path("SpecialToken").path("id").asText(null)) ? 1 : 0;
            int to = last != null && last.equals(pair.get(pair.size() - 1).path("SpecialToken").path("id")
                    .asText(null)) ? pair.size() - 1 : pair.size();
            List<JsonNode> inner = new ArrayList<>();
            for (int i = from; i < to; i++) {
                inner.add(pair.get(i));
            }
            if (inner.size() > 2 && "A".equals(inner.get(0).path("Sequence").path("id").asText(null))
                    && "B".equals(inner.get(inner.size() - 1).path("Sequence").path("id").asText(null))) {
                List<JsonNode> middle = inner.subList(1, inner.size() - 1);
                String sep = configTokens.get("sep_token");
                boolean addSep = false;
                String entry = middle.get(0).path("SpecialToken").path("id").asText(null);
                if (entry != null && (entry.equals(sep) || entry.equals(eos)) && last == null) {
                    addSep = true;
                }
                if (middle.size() == 2) {
                    String second = middle.get(1).path("SpecialToken").path("id").asText(null);
                    if (second != null && (second.equals(sep) || second.equals(eos))) {
                        addSep = true;
                    }
                }
                add.put("sep", addSep);
                if (addSep && sep == null && hasConfig) {
                    configTokens.put("sep_token", eos);
                }
            }
        }
    }

    private void fromModelConfig() {
        for (String typ : types) {
            set(typ, files.modelConfig().path(typ + "_token_id"));
        }
    }

    private void set(String typ, JsonNode id) {
        if (id.isIntegralNumber()) {
            set(typ, id.intValue());
        }
    }

    /** Sets an id unless one is set already (or it is outside the vocabulary); negative ids are refused. */
    void set(String typ, int id) {
        if (id < 0) {
            throw new IllegalArgumentException("invalid value for special token type " + typ + ": " + id);
        }
        if (nVocab == null || id < nVocab) {
            ids.putIfAbsent(typ, id);
        }
    }

    /** Writes what was found, in the gguf package's order; a type llama.cpp has no key for is left out. */
    void addTo(GgufMetadata meta, boolean withChatTemplate) {
        if (!merges.isEmpty()) {
            meta.putStrings("tokenizer.ggml.merges", merges);
        }
        ids.forEach((typ, id) -> {
            if (ID_KEYS.containsKey(typ)) {
                meta.putUint32(ID_KEYS.get(typ), id);
            }
        });
        add.forEach((typ, v) -> {
            if (ADD_KEYS.containsKey(typ)) {
                meta.putBool(ADD_KEYS.get(typ), v);
            }
        });
        if (withChatTemplate && chatTemplate != null) {
            meta.putString("tokenizer.chat_template", chatTemplate);
        }
        if (lowercase != null) {
            meta.putBool("tokenizer.ggml.normalizer.lowercase", lowercase);
        }
        if (stripAccents != null) {
            meta.putBool("tokenizer.ggml.normalizer.strip_accents", stripAccents);
        }
    }
}
