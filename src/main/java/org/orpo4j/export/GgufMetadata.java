package org.orpo4j.export;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The key-value section of a GGUF file, in insertion order, each value with the GGUF type llama.cpp reads it as
 * (counts uint32, epsilons and bases float32, token types an int32 array, ...). Setting a key again replaces its
 * value in place, as the gguf package's writer does.
 */
public final class GgufMetadata {

    /** GGUF value types (the ids the format stores). */
    public enum Type {
        UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7), STRING(8), ARRAY(9),
        UINT64(10), INT64(11), FLOAT64(12);

        public final int id;

        Type(int id) {
            this.id = id;
        }
    }

    /** One value: a scalar of {@code type}, or a list whose elements are of {@code elementType}. */
    public record Value(Type type, Type elementType, Object value) {}

    private final Map<String, Value> entries = new LinkedHashMap<>();

    public GgufMetadata putString(String key, String v) {
        return put(key, new Value(Type.STRING, null, v));
    }

    public GgufMetadata putUint32(String key, long v) {
        if (v < 0 || v > 0xFFFFFFFFL) {
            throw new IllegalArgumentException(key + ": " + v + " does not fit a uint32");
        }
        return put(key, new Value(Type.UINT32, null, v));
    }

    public GgufMetadata putFloat32(String key, double v) {
        return put(key, new Value(Type.FLOAT32, null, (float) v));
    }

    public GgufMetadata putBool(String key, boolean v) {
        return put(key, new Value(Type.BOOL, null, v));
    }

    public GgufMetadata putStrings(String key, List<String> v) {
        return put(key, new Value(Type.ARRAY, Type.STRING, List.copyOf(v)));
    }

    public GgufMetadata putInt32s(String key, int[] v) {
        return put(key, new Value(Type.ARRAY, Type.INT32, v.clone()));
    }

    public GgufMetadata putFloat32s(String key, float[] v) {
        return put(key, new Value(Type.ARRAY, Type.FLOAT32, v.clone()));
    }

    public GgufMetadata remove(String key) {
        entries.remove(key);
        return this;
    }

    private GgufMetadata put(String key, Value v) {
        entries.put(key, v);
        return this;
    }

    /** The entries in file order. */
    public Map<String, Value> entries() {
        return Collections.unmodifiableMap(entries);
    }

    public Value get(String key) {
        return entries.get(key);
    }
}
