package org.orpo4j.quantization;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.orpo4j.runtime.Json;

/**
 * The small part of a bitsandbytes {@code QuantState} that is not a tensor, as transformers saves it beside a 4-bit
 * weight: the JSON bytes of {@code <weight>.quant_state.bitsandbytes__nf4} (or {@code __fp4}) with
 * {@code quant_type}, {@code blocksize}, {@code dtype} (the weight's before quantization), {@code shape} and, when
 * the absmax values are quantized again, {@code nested_blocksize}, {@code nested_dtype} and {@code nested_offset}
 * (the mean subtracted before that, a float32).
 *
 * @param nested the nested quantization's fields, or null
 */
public record QuantState(QuantType type, int blocksize, String dtype, long[] shape, Nested nested) {

    /** The tensor-name suffix of the packed state, before the quant type. */
    public static final String KEY = "quant_state.bitsandbytes__";

    private static final List<String> DTYPES = List.of("float32", "float16", "bfloat16");
    private static final Set<String> FIELDS = Set.of("quant_type", "blocksize", "dtype", "shape", "nested_blocksize",
            "nested_dtype", "nested_offset");

    /** The nested quantization of the absmax values: its block size, dtype and the subtracted mean. */
    public record Nested(int blocksize, String dtype, float offset) {}

    public QuantState {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of values of the quantized weight. */
    public long numel() {
        return Arrays.stream(shape).reduce(1, Math::multiplyExact);
    }

    /** Number of absmax values (blocks). */
    public long blocks() {
        return (numel() + blocksize - 1) / blocksize;
    }

    /** The packed JSON as bitsandbytes writes it ({@code json.dumps} of the non-tensor fields). */
    public byte[] toJsonBytes() {
        StringBuilder s = new StringBuilder("{\"quant_type\": \"").append(type.bnbName()).append("\", \"blocksize\": ")
                .append(blocksize).append(", \"dtype\": \"").append(dtype).append("\", \"shape\": [");
        for (int i = 0; i < shape.length; i++) {
            s.append(i > 0 ? ", " : "").append(shape[i]);
        }
        s.append(']');
        if (nested != null) {
            s.append(", \"nested_blocksize\": ").append(nested.blocksize()).append(", \"nested_dtype\": \"")
                    .append(nested.dtype()).append("\", \"nested_offset\": ").append((double) nested.offset());
        }
        return s.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Parses the packed state {@code json} read from tensor {@code key} of {@code file}: every field present, of its
     * type and in bitsandbytes' range, the quant type the key names. Anything else is an
     * {@link IllegalArgumentException} naming the file, the tensor and the field.
     */
    public static QuantState parse(byte[] json, String file, String key) {
        String where = file + ": tensor '" + key + "'";
        JsonNode root;
        try {
            root = Json.untrusted().readTree(json);
        } catch (JsonProcessingException e) {
            String at = e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr();
            throw new IllegalArgumentException(where + ": quant_state is not valid JSON" + at);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(where + ": quant_state cannot be read: " + e.getMessage());
        }
        if (!(root instanceof ObjectNode node)) {
            throw new IllegalArgumentException(where + ": quant_state is not a JSON object");
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!FIELDS.contains(field)) {
                throw new IllegalArgumentException(where + ": quant_state has an unknown field '" + field + "'");
            }
        }
        QuantType type;
        try {
            type = QuantType.parse(text(node, "quant_type", where));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": field 'quant_type': " + e.getMessage());
        }
        if (!key.endsWith(KEY + type.bnbName())) {
            throw new IllegalArgumentException(where + ": field 'quant_type' is " + type
                    + " but the tensor's name says " + key.substring(key.lastIndexOf("__") + 2));
        }
        int blocksize = blocksize(node, "blocksize", QuantConfig.BLOCKSIZES, where);
        String dtype = dtype(node, "dtype", where);
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray() || shapeNode.isEmpty()) {
            throw new IllegalArgumentException(where + ": field 'shape' must be a list of sizes, got " + shapeNode);
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.longValue() <= 0) {
                throw new IllegalArgumentException(where + ": field 'shape' must hold positive sizes, got "
                        + shapeNode);
            }
            shape[i] = d.longValue();
        }
        Nested nested = null;
        boolean anyNested = node.has("nested_blocksize") || node.has("nested_dtype") || node.has("nested_offset");
        if (anyNested) {
            int nestedBlocksize = blocksize(node, "nested_blocksize", List.of(QuantConfig.NESTED_BLOCKSIZE), where);
            String nestedDtype = dtype(node, "nested_dtype", where);
            if (!nestedDtype.equals("float32")) {
                throw new IllegalArgumentException(where + ": field 'nested_dtype' is " + nestedDtype
                        + "; bitsandbytes' nested absmax is float32");
            }
            JsonNode offset = node.get("nested_offset");
            if (offset == null || !offset.isNumber() || !Double.isFinite(offset.doubleValue())) {
                throw new IllegalArgumentException(where + ": field 'nested_offset' must be a finite number, got "
                        + offset);
            }
            nested = new Nested(nestedBlocksize, nestedDtype, (float) offset.doubleValue());
        }
        return new QuantState(type, blocksize, dtype, shape, nested);
    }

    private static String text(ObjectNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(where + ": field '" + field + "' must be a string, got " + v);
        }
        return v.textValue();
    }

    private static int blocksize(ObjectNode node, String field, List<Integer> allowed, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || !allowed.contains(v.intValue())) {
            throw new IllegalArgumentException(where + ": field '" + field + "' is " + v + ", bitsandbytes allows "
                    + allowed);
        }
        return v.intValue();
    }

    private static String dtype(ObjectNode node, String field, String where) {
        String d = text(node, field, where);
        if (!DTYPES.contains(d)) {
            throw new IllegalArgumentException(where + ": field '" + field + "' is '" + d + "', not one of " + DTYPES);
        }
        return d;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantState q && type == q.type && blocksize == q.blocksize && dtype.equals(q.dtype)
                && Arrays.equals(shape, q.shape) && java.util.Objects.equals(nested, q.nested);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(type, blocksize, dtype, Arrays.hashCode(shape), nested);
    }

    @Override
    public String toString() {
        return new String(toJsonBytes(), StandardCharsets.UTF_8);
    }
}
