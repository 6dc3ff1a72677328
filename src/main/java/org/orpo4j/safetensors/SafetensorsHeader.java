package org.orpo4j.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.orpo4j.runtime.Json;

/**
 * The parsed and validated header of one safetensors file: {@code u64 LE length | JSON | data}. Validation follows
 * the reference implementation: offsets in range, byte length = numel x dtype size, and the tensors tiling the data
 * section contiguously from 0 to its end (no gap, no overlap, no trailing bytes).
 */
record SafetensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata, long dataStart) {

    /** The reference reader's limit; a larger length is a corrupt file, not a real header. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = Json.untrusted().copy()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    static SafetensorsHeader read(Path file, FileChannel channel) {
        try {
            long size = channel.size();
            if (size < 8) {
                throw new SafetensorsException(file + ": truncated: " + size
                        + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, len, 0);
            long headerLength = len.flip().getLong();
            if (headerLength < 0 || headerLength > size - 8) {
                throw new SafetensorsException(file + ": header length " + Long.toUnsignedString(headerLength)
                        + " exceeds the file size " + size + " (truncated or not a safetensors file)");
            }
            if (headerLength > MAX_HEADER_BYTES) {
                throw new SafetensorsException(file + ": header length " + headerLength
                        + " exceeds the 100 MiB limit (corrupt file)");
            }
            ByteBuffer json = ByteBuffer.allocate((int) headerLength);
            readFully(channel, json, 8);
            long dataStart = 8 + headerLength;
            return parse(file, new String(json.array(), StandardCharsets.UTF_8), size - dataStart, dataStart);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static SafetensorsHeader parse(Path file, String json, long dataLength, long dataStart) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file + ": header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(file + ": header is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                readMetadata(file, e.getValue(), metadata);
            } else {
                tensors.put(e.getKey(), readTensor(file, e.getKey(), e.getValue(), dataLength));
            }
        }
        checkTiling(file, tensors, dataLength);
        return new SafetensorsHeader(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata),
                dataStart);
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw new SafetensorsException(file + ": __metadata__ is not a JSON object");
        }
        node.fields().forEachRemaining(m -> {
            if (!m.getValue().isTextual()) {
                throw new SafetensorsException(file + ": __metadata__ value '" + m.getKey() + "' is not a string");
            }
            out.put(m.getKey(), m.getValue().asText());
        });
    }

    private static TensorInfo readTensor(Path file, String name, JsonNode node, long dataLength) {
        String where = file + ": tensor '" + name + "': ";
        if (!node.isObject()) {
            throw new SafetensorsException(where + "entry is not a JSON object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsException(where + "missing or non-string 'dtype'");
        }
        DType dtype = DType.fromHeader(dtypeNode.asText());
        if (dtype == null) {
            throw new SafetensorsException(where + "unknown dtype '" + dtypeNode.asText() + "'");
        }
        long[] shape = longs(where, node.get("shape"), "shape", -1);
        long[] offsets = longs(where, node.get("data_offsets"), "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end || end > dataLength) {
            throw new SafetensorsException(where + "data_offsets [" + begin + ", " + end
                    + "] out of range (data section is " + dataLength + " bytes)");
        }
        TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(info.numel(), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(where + "shape overflows a 64-bit byte count");
        }
        if (expected != end - begin) {
            throw new SafetensorsException(where + "shape " + java.util.Arrays.toString(shape) + " x " + dtype
                    + " is " + expected + " bytes but data_offsets span " + (end - begin));
        }
        return info;
    }

    private static long[] longs(String where, JsonNode node, String field, int requiredLength) {
        if (node == null || !node.isArray() || (requiredLength >= 0 && node.size() != requiredLength)) {
            throw new SafetensorsException(where + "missing or malformed '" + field + "'"
                    + (requiredLength >= 0 ? " (expected " + requiredLength + " integers)" : ""));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new SafetensorsException(where + "'" + field + "' holds " + v
                        + ", not a non-negative integer");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    /** The tensors, sorted by offset, must cover [0, dataLength) exactly. */
    private static void checkTiling(Path file, Map<String, TensorInfo> tensors, long dataLength) {
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expectedBegin = 0;
        String previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() != expectedBegin) {
                throw new SafetensorsException(file + ": tensor '" + t.name() + "': data_offsets begin " + t.begin()
                        + (t.begin() < expectedBegin ? " overlaps" : " leaves a gap after")
                        + (previous == null ? " the data start" : " tensor '" + previous + "'")
                        + " (expected " + expectedBegin + ")");
            }
            expectedBegin = t.end();
            previous = t.name();
        }
        if (expectedBegin != dataLength) {
            throw new SafetensorsException(file + ": " + (dataLength - expectedBegin) + " trailing bytes after "
                    + (previous == null ? "the header" : "the last tensor '" + previous + "'")
                    + " (data section is " + dataLength + " bytes)");
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }
}
