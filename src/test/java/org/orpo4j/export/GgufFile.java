package org.orpo4j.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A test-side GGUF reader, written from the format's description (independent of the writer's code). */
public final class GgufFile {

    public record Kv(String key, int type, int elementType, Object value) {}

    public record Tensor(String name, long[] ggmlShape, int type, long offset) {}

    public final int version;
    public final Map<String, Kv> kv = new LinkedHashMap<>();
    public final List<Tensor> tensors = new ArrayList<>();
    public final long dataStart;
    public final long fileSize;
    private final ByteBuffer b;

    private GgufFile(ByteBuffer b) {
        this.b = b.order(ByteOrder.LITTLE_ENDIAN);
        this.fileSize = b.capacity();
        if (b.getInt() != 0x46554747) {
            throw new IllegalArgumentException("not a GGUF file");
        }
        version = b.getInt();
        long nTensors = b.getLong();
        long nKv = b.getLong();
        for (long i = 0; i < nKv; i++) {
            String key = str();
            int type = b.getInt();
            if (type == 9) {
                int et = b.getInt();
                long n = b.getLong();
                List<Object> values = new ArrayList<>();
                for (long j = 0; j < n; j++) {
                    values.add(scalar(et));
                }
                kv.put(key, new Kv(key, type, et, values));
            } else {
                kv.put(key, new Kv(key, type, -1, scalar(type)));
            }
        }
        for (long i = 0; i < nTensors; i++) {
            String name = str();
            int dims = b.getInt();
            long[] shape = new long[dims];
            for (int d = 0; d < dims; d++) {
                shape[d] = b.getLong();
            }
            tensors.add(new Tensor(name, shape, b.getInt(), b.getLong()));
        }
        long alignment = kv.containsKey("general.alignment") ? ((Number) kv.get("general.alignment").value()).longValue()
                : 32;
        dataStart = (b.position() + alignment - 1) / alignment * alignment;
    }

    public static GgufFile read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer all = ByteBuffer.allocate((int) ch.size());
            while (all.hasRemaining() && ch.read(all) >= 0) {
                // read it whole: test files are small
            }
            all.flip();
            return new GgufFile(all);
        }
    }

    /** The bytes of a tensor's data ({@code length} bytes from its offset). */
    public byte[] data(Tensor t, long length) {
        byte[] out = new byte[(int) length];
        b.duplicate().position((int) (dataStart + t.offset())).get(out);
        return out;
    }

    private String str() {
        long n = b.getLong();
        byte[] bytes = new byte[(int) n];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private Object scalar(int type) {
        return switch (type) {
            case 0 -> (long) (b.get() & 0xFF);
            case 1 -> (long) b.get();
            case 2 -> (long) (b.getShort() & 0xFFFF);
            case 3 -> (long) b.getShort();
            case 4 -> b.getInt() & 0xFFFFFFFFL;
            case 5 -> (long) b.getInt();
            case 6 -> b.getFloat();
            case 7 -> b.get() != 0;
            case 8 -> str();
            case 10, 11 -> b.getLong();
            case 12 -> b.getDouble();
            default -> throw new IllegalArgumentException("GGUF value type " + type);
        };
    }
}
