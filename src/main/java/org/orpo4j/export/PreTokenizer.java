package org.orpo4j.export;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.runtime.Json;

/**
 * {@code tokenizer.ggml.pre} of a BPE vocabulary, found as llama.cpp's converter finds it: the tokenizer encodes a
 * fixed text (special tokens added as its post-processor adds them), the SHA-256 of the ids printed as a Python list
 * names the pre-tokenizer llama.cpp implements for it. An unknown hash is an error there, and here.
 */
final class PreTokenizer {

    private static final String CHECK_TEXT = resource("pre-tokenizer-check.txt");
    private static final Map<String, String> NAMES = names();

    private PreTokenizer() {}

    static String of(TokenizerFiles files) {
        String hash = hash(files);
        String name = NAMES.get(hash);
        if (name == null) {
            throw new IllegalArgumentException(files.folder().resolve("tokenizer.json") + ": llama.cpp does not know"
                    + " this BPE pre-tokenizer (sha256 " + hash + " of the check text's ids); llama.cpp's own converter"
                    + " refuses it too");
        }
        return name;
    }

    /** The hash llama.cpp's converter computes: sha256 of {@code str(tokenizer.encode(chktxt))}. */
    static String hash(TokenizerFiles files) {
        DjlRuntime.quiet();
        long[] ids;
        try (InputStream in = new ByteArrayInputStream(Json.untrusted().writeValueAsBytes(files.tokenizer()));
                HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(in, Map.of(
                        "addSpecialTokens", "true", "truncation", "false", "padding", "false"))) {
            Encoding e = tokenizer.encode(CHECK_TEXT, true, false);
            ids = e.getIds();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        StringBuilder list = new StringBuilder("[");
        for (int i = 0; i < ids.length; i++) {
            list.append(i == 0 ? "" : ", ").append(ids[i]);
        }
        list.append(']');
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(list.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> names() {
        Map<String, String> names = new HashMap<>();
        for (String line : resource("pre-tokenizers.tsv").split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String[] parts = line.split("\t");
                names.put(parts[0], parts[1]); // a later line wins, as in the converter's chain of ifs
            }
        }
        return Map.copyOf(names);
    }

    private static String resource(String name) {
        try (InputStream in = PreTokenizer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
