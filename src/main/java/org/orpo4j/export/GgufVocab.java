package org.orpo4j.export;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code tokenizer.ggml.*} metadata of a model's tokenizer.json: a byte-level BPE vocabulary (llama 3, qwen,
 * smollm3: model {@code gpt2}, merges, the pre-tokenizer by hash) or a SentencePiece-style BPE with byte fallback
 * (llama 2, mistral, phi3, gemma: model {@code llama}, scores), each token typed as llama.cpp reads it.
 */
final class GgufVocab {

    /** llama.cpp's token types (SentencePiece's). */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    private GgufVocab() {}

    /** True for a SentencePiece-style BPE (byte fallback, a Sequence decoder): what llama.cpp's {@code llama} reads. */
    static boolean isSentencePieceBpe(TokenizerFiles files) {
        JsonNode model = files.model();
        return "BPE".equals(model.path("type").asText()) && model.path("byte_fallback").asBoolean(false)
                && "Sequence".equals(files.tokenizer().path("decoder").path("type").asText());
    }

    /** The byte-level BPE vocabulary: tokens up to {@code vocabSize} (missing ids are {@code [PADn]}, unused). */
    static SpecialTokens addBpe(GgufMetadata meta, TokenizerFiles files, int vocabSize) {
        Map<Integer, String> byId = vocabById(files);
        Map<Integer, JsonNode> added = addedById(files);
        List<String> tokens = new ArrayList<>(vocabSize);
        int[] types = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            String token = byId.get(i);
            if (token == null) {
                tokens.add("[PAD" + i + "]");
                types[i] = UNUSED;
                continue;
            }
            JsonNode a = added.get(i);
            if (a != null && a.path("content").asText().equals(token)) {
                if (a.path("special").asBoolean(false) || looksSpecial(token)) {
                    types[i] = CONTROL;
                } else {
                    token = token.replace("\u2581", " ");
                    types[i] = USER_DEFINED;
                }
            } else {
                types[i] = NORMAL;
            }
            tokens.add(token);
        }
        meta.putString("tokenizer.ggml.model", "gpt2");
        meta.putString("tokenizer.ggml.pre", PreTokenizer.of(files));
        meta.putStrings("tokenizer.ggml.tokens", tokens);
        meta.putInt32s("tokenizer.ggml.token_type", types);
        return new SpecialTokens(files, true, SpecialTokens.defaultTypes(), null);
    }

    /**
     * A SentencePiece-style BPE vocabulary from tokenizer.json (its base vocabulary, then added tokens past it),
     * as llama.cpp's converter reads one without tokenizer.model, with two differences that make llama.cpp tokenize
     * as the HF tokenizer does: a token made by a merge scores minus the rank of its first merge (the converter
     * writes -1000 for all), since llama.cpp's SentencePiece tokenizer merges the highest-scoring pair first; and
     * every added token is typed control (special) or user-defined, as the converter types tokenizer.model's
     * added tokens, so that llama.cpp matches it in text as the HF tokenizer does.
     */
    static SpecialTokens addSentencePiece(GgufMetadata meta, TokenizerFiles files) {
        Map<Integer, String> base = new HashMap<>();
        JsonNode vocab = files.model().path("vocab");
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            base.put(e.getValue().asInt(), e.getKey());
        }
        Map<String, Integer> mergeRank = mergeRanks(files);
        Set<Integer> special = specialIds(files);
        int baseSize = base.size();
        List<String> tokens = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        Map<Integer, JsonNode> added = addedById(files);
        for (int id = 0; id < baseSize; id++) {
            String text = base.get(id);
            if (text == null) {
                throw new IllegalArgumentException(files.folder().resolve("tokenizer.json") + ": model.vocab has no"
                        + " token with id " + id + " (ids must be 0.." + (baseSize - 1) + ")");
            }
            tokens.add(text);
            Integer rank = mergeRank.get(text);
            scores.add(rank == null ? -1000f : -(float) rank);
            types.add(BYTE_TOKEN.matcher(text).matches() ? BYTE : special.contains(id) ? CONTROL : NORMAL);
        }
        for (Map.Entry<Integer, JsonNode> e : added.entrySet()) {
            // added tokens are matched before the model runs: llama.cpp needs them as control or user-defined
            int id = e.getKey();
            String content = e.getValue().path("content").asText();
            boolean control = e.getValue().path("special").asBoolean(false) || special.contains(id)
                    || looksSpecial(content);
            String text = control ? content : content.replace("\u2581", " ");
            if (id < tokens.size()) {
                tokens.set(id, text);
                scores.set(id, -1000f);
                types.set(id, control ? CONTROL : USER_DEFINED);
            } else if (id == tokens.size()) {
                tokens.add(text);
                scores.add(-1000f);
                types.add(control ? CONTROL : USER_DEFINED);
            } else {
                throw new IllegalArgumentException(files.folder().resolve("tokenizer.json") + ": added token id "
                        + id + " leaves a gap after " + (tokens.size() - 1));
            }
        }
        float[] s = new float[scores.size()];
        int[] t = new int[types.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
            t[i] = types.get(i);
        }
        meta.putString("tokenizer.ggml.model", "llama");
        meta.putString("tokenizer.ggml.pre", "default");
        meta.putStrings("tokenizer.ggml.tokens", tokens);
        meta.putFloat32s("tokenizer.ggml.scores", s);
        meta.putInt32s("tokenizer.ggml.token_type", t);
        return new SpecialTokens(files, false, SpecialTokens.defaultTypes(), tokens.size());
    }

    /**
     * A tokenizer.model vocabulary as the converter reads one ({@code _create_vocab_sentencepiece}, phi3's own loop
     * when {@code phi3}): {@code vocabSize} slots of unused {@code [PADn]} (score -10000), the pieces with their
     * scores and types (user-defined pieces count as normal, as SentencePieceProcessor reports them), then
     * added_tokens.json and tokenizer_config.json's {@code added_tokens_decoder} as user-defined or control tokens
     * (phi3: and tokenizer.json's added tokens), score -1000.
     */
    static SpecialTokens addSentencePieceModel(GgufMetadata meta, TokenizerFiles files, Path model, int vocabSize,
            boolean phi3) throws IOException {
        List<SentencePieceModel.Piece> pieces = SentencePieceModel.read(model);
        List<String> tokens = new ArrayList<>();
        float[] scores = new float[vocabSize];
        int[] types = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            tokens.add("[PAD" + i + "]");
            scores[i] = -10000f;
            types[i] = UNUSED;
        }
        for (int id = 0; id < pieces.size(); id++) {
            if (id >= vocabSize) {
                if (phi3) {
                    throw new IllegalArgumentException(model + ": " + pieces.size() + " pieces for vocab_size "
                            + vocabSize);
                }
                break;
            }
            SentencePieceModel.Piece p = pieces.get(id);
            tokens.set(id, p.text());
            scores[id] = p.score();
            types[id] = switch (p.type()) {
                case SentencePieceModel.UNKNOWN, SentencePieceModel.CONTROL, SentencePieceModel.UNUSED,
                        SentencePieceModel.BYTE -> p.type();
                default -> NORMAL;
            };
        }
        Path addedFile = files.folder().resolve("added_tokens.json");
        if (Files.isRegularFile(addedFile)) {
            org.orpo4j.runtime.Json.untrusted().readTree(addedFile.toFile()).fields().forEachRemaining(e -> {
                int id = e.getValue().asInt();
                if (id < vocabSize) {
                    tokens.set(id, e.getKey());
                    scores[id] = -1000f;
                    types[id] = USER_DEFINED;
                }
            });
        }
        List<JsonNode> added = new ArrayList<>();
        files.tokenizerConfig().path("added_tokens_decoder").fields().forEachRemaining(e -> {
            com.fasterxml.jackson.databind.node.ObjectNode t = e.getValue().deepCopy();
            t.put("id", Integer.parseInt(e.getKey()));
            added.add(t);
        });
        if (phi3) {
            files.addedTokens().forEach(added::add);
        }
        for (JsonNode t : added) {
            int id = t.path("id").asInt();
            String content = t.path("content").asText();
            if (id >= vocabSize) {
                continue;
            }
            boolean control = t.path("special").asBoolean(false) || (!phi3 && looksSpecial(content));
            tokens.set(id, control || phi3 ? content : content.replace("\u2581", " "));
            scores[id] = -1000f;
            types[id] = control ? CONTROL : USER_DEFINED;
        }
        meta.putString("tokenizer.ggml.model", "llama");
        meta.putString("tokenizer.ggml.pre", "default");
        meta.putStrings("tokenizer.ggml.tokens", tokens);
        meta.putFloat32s("tokenizer.ggml.scores", scores);
        meta.putInt32s("tokenizer.ggml.token_type", types);
        return new SpecialTokens(files, false, SpecialTokens.defaultTypes(), tokens.size());
    }

    /** The rank of the first merge producing each merged token. */
    private static Map<String, Integer> mergeRanks(TokenizerFiles files) {
        Map<String, Integer> ranks = new HashMap<>();
        int rank = 0;
        for (JsonNode m : files.model().path("merges")) {
            String merged;
            if (m.isTextual()) {
                String s = m.asText();
                int space = s.indexOf(' ');
                merged = s.substring(0, space) + s.substring(space + 1);
            } else {
                merged = m.get(0).asText() + m.get(1).asText();
            }
            ranks.putIfAbsent(merged, rank++);
        }
        return ranks;
    }

    /**
     * The ids transformers counts as special ({@code all_special_ids}): the bos/eos/unk/pad tokens of
     * tokenizer_config.json and its additional special tokens, found among the vocabulary and added tokens.
     */
    private static Set<Integer> specialIds(TokenizerFiles files) {
        Map<String, Integer> ids = new HashMap<>();
        files.model().path("vocab").fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asInt()));
        for (JsonNode a : files.addedTokens()) {
            ids.put(a.path("content").asText(), a.path("id").asInt());
        }
        Set<Integer> special = new HashSet<>();
        for (String key : new String[] {"bos_token", "eos_token", "unk_token", "pad_token"}) {
            String t = files.configToken(key);
            if (t != null && ids.containsKey(t)) {
                special.add(ids.get(t));
            }
        }
        for (JsonNode t : files.tokenizerConfig().path("additional_special_tokens")) {
            String content = t.isTextual() ? t.asText() : t.path("content").asText(null);
            if (content != null && ids.containsKey(content)) {
                special.add(ids.get(content));
            }
        }
        return special;
    }

    private static Map<Integer, String> vocabById(TokenizerFiles files) {
        Map<Integer, String> byId = new HashMap<>();
        files.model().path("vocab").fields().forEachRemaining(e -> byId.put(e.getValue().asInt(), e.getKey()));
        for (JsonNode a : files.addedTokens()) {
            byId.put(a.path("id").asInt(), a.path("content").asText());
        }
        return byId;
    }

    private static Map<Integer, JsonNode> addedById(TokenizerFiles files) {
        Map<Integer, JsonNode> added = new java.util.TreeMap<>();
        for (JsonNode a : files.addedTokens()) {
            added.put(a.path("id").asInt(), a);
        }
        return added;
    }

    /** Tokens some models leave unmarked that llama.cpp must treat as control tokens (the converter's list). */
    static boolean looksSpecial(String token) {
        return token.equals("<pad>") || token.equals("<mask>") || token.equals("<2mass>") || token.equals("[@BOS@]")
                || (token.startsWith("<|") && token.endsWith("|>"))
                || (token.startsWith("<\uFF5C") && token.endsWith("\uFF5C>"))
                || (token.startsWith("<unused") && token.endsWith(">"));
    }
}
