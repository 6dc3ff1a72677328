package org.orpo4j.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The build record orpo4j's native library carries in its own bytes ({@code src/main/native/orpo4j/orpo4j_native.cc}):
 * the torch its C++ was compiled against, DJL's JNI API version, the flavor (cpu, cuda), the C++ ABI and the cache key.
 * It is read from the file before the library is loaded, because a JNI compiled against another torch's headers does
 * not fail cleanly when loaded into DJL's libtorch: it crashes the JVM on a call.
 *
 * @param torch the torch version of the headers ({@code 2.7.1})
 * @param djl DJL's version, whose JNI functions the library implements ({@code 0.36.0})
 * @param flavor {@code cpu}, or {@code cuda} for a build against a CUDA torch
 * @param cxx11Abi the {@code _GLIBCXX_USE_CXX11_ABI} it was compiled with
 * @param key the cache key: torch version, flavor and a hash of the native sources
 */
public record NativeBuild(String torch, String djl, String flavor, boolean cxx11Abi, String key) {

    static final String MARKER = "orpo4j-native-build:";

    /** The record in {@code library}'s bytes; empty when the file has none (DJL's own JNI, a foreign build). */
    public static Optional<NativeBuild> read(Path library) throws IOException {
        return find(Files.readAllBytes(library));
    }

    /** The record in the bytes of a library file. */
    static Optional<NativeBuild> find(byte[] bytes) {
        byte[] marker = MARKER.getBytes(StandardCharsets.US_ASCII);
        int at = indexOf(bytes, marker);
        if (at < 0) {
            return Optional.empty();
        }
        int end = at;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return Optional.of(parse(new String(bytes, at, end - at, StandardCharsets.US_ASCII)));
    }

    /** Parses {@code orpo4j-native-build:torch=2.7.1;djl=0.36.0;flavor=cpu;cxx11_abi=1;key=...;end}. */
    public static NativeBuild parse(String record) {
        if (!record.startsWith(MARKER)) {
            throw new IllegalArgumentException("not an orpo4j native build record: " + record);
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (String field : record.substring(MARKER.length()).split(";")) {
            int eq = field.indexOf('=');
            if (eq > 0) {
                fields.put(field.substring(0, eq), field.substring(eq + 1));
            }
        }
        for (String name : new String[] {"torch", "djl", "flavor", "cxx11_abi", "key"}) {
            if (!fields.containsKey(name)) {
                throw new IllegalArgumentException("orpo4j native build record without " + name + ": " + record);
            }
        }
        return new NativeBuild(fields.get("torch"), fields.get("djl"), fields.get("flavor"),
                fields.get("cxx11_abi").equals("1"), fields.get("key"));
    }

    /** One line: {@code torch 2.7.1 (cpu), DJL 0.36.0 JNI, key ...}. */
    public String describe() {
        return "torch " + torch + " (" + flavor + "), DJL " + djl + " JNI, key " + key;
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (haystack[i] != needle[0]) {
                continue;
            }
            for (int j = 1; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
