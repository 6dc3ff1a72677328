package org.orpo4j.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF v3 file (little-endian): magic, version, counts, the metadata, the tensor infos with offsets into
 * the data section, padding to the alignment (32), then each tensor's data padded to the alignment. The layout is
 * known before any tensor is read, so the data is streamed: {@link #writeTensor} takes one tensor at a time.
 */
final class GgufWriter {

    static final int ALIGNMENT = 32;
    private static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    private static final int VERSION = 3;

    private final WritableByteChannel out;
    private final List<GgufTensorInfo> tensors;
    private long position;
    private int next; // the index of the next tensor to write

    private GgufWriter(WritableByteChannel out, List<GgufTensorInfo> tensors) {
        this.out = out;
        this.tensors = List.copyOf(tensors);
    }

    /** Writes the header (metadata and tensor infos, padded) and returns a writer expecting the tensors in order. */
    static GgufWriter start(WritableByteChannel out, GgufMetadata metadata, List<GgufTensorInfo> tensors)
            throws IOException {
        GgufWriter w = new GgufWriter(out, tensors);
        Buf h = new Buf();
        h.i32(MAGIC).i32(VERSION).i64(tensors.size()).i64(metadata.entries().size());
        for (Map.Entry<String, GgufMetadata.Value> e : metadata.entries().entrySet()) {
            h.str(e.getKey()).i32(e.getValue().type().id);
            h.value(e.getValue());
        }
        long offset = 0;
        for (GgufTensorInfo t : tensors) {
            long[] shape = t.shape();
            h.str(t.name()).i32(shape.length);
            for (int d = shape.length - 1; d >= 0; d--) {
                h.i64(shape[d]);
            }
            h.i32(t.type().id).i64(offset);
            offset += pad(t.bytes());
        }
        h.zeros(pad(h.size()) - h.size());
        w.emit(h.flip());
        return w;
    }

    /** The size of {@code n} bytes padded to the alignment. */
    static long pad(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** Appends part of the current tensor's data; {@link #endTensor} pads it once all of it is written. */
    void writeTensor(ByteBuffer data) throws IOException {
        emit(data);
    }

    /** Checks the current tensor got exactly its size and pads it to the alignment. */
    void endTensor(long written) throws IOException {
        GgufTensorInfo t = tensors.get(next);
        if (written != t.bytes()) {
            throw new IllegalStateException(t.name() + ": wrote " + written + " bytes, expected " + t.bytes());
        }
        int padding = (int) (pad(written) - written);
        if (padding > 0) {
            emit(ByteBuffer.allocate(padding));
        }
        next++;
    }

    /** Bytes written so far. */
    long position() {
        return position;
    }

    void finish() {
        if (next != tensors.size()) {
            throw new IllegalStateException("wrote " + next + " of " + tensors.size() + " tensors");
        }
    }

    private void emit(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            position += out.write(b);
        }
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class Buf {
        private ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void room(long n) {
            if (b.remaining() < n) {
                long want = Math.max((long) b.capacity() * 2, b.position() + n);
                if (want > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException("GGUF header over 2 GiB");
                }
                ByteBuffer bigger = ByteBuffer.allocate((int) want).order(ByteOrder.LITTLE_ENDIAN);
                b.flip();
                bigger.put(b);
                b = bigger;
            }
        }

        Buf i32(int v) { room(4); b.putInt(v); return this; }
        Buf i64(long v) { room(8); b.putLong(v); return this; }

        Buf str(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            i64(bytes.length);
            room(bytes.length);
            b.put(bytes);
            return this;
        }

        Buf zeros(long n) {
            room(n);
            for (long i = 0; i < n; i++) {
                b.put((byte) 0);
            }
            return this;
        }

        void value(GgufMetadata.Value v) {
            switch (v.type()) {
                case STRING -> str((String) v.value());
                case UINT32 -> i32((int) (long) (Long) v.value());
                case FLOAT32 -> { room(4); b.putFloat((Float) v.value()); }
                case BOOL -> { room(1); b.put((byte) ((Boolean) v.value() ? 1 : 0)); }
                case ARRAY -> array(v);
                default -> throw new IllegalArgumentException("unsupported GGUF value type " + v.type());
            }
        }

        @SuppressWarnings("unchecked")
        private void array(GgufMetadata.Value v) {
            i32(v.elementType().id);
            switch (v.elementType()) {
                case STRING -> {
                    List<String> list = (List<String>) v.value();
                    i64(list.size());
                    list.forEach(this::str);
                }
                case INT32 -> {
                    int[] a = (int[]) v.value();
                    i64(a.length);
                    room(4L * a.length);
                    for (int x : a) {
                        b.putInt(x);
                    }
                }
                case FLOAT32 -> {
                    float[] a = (float[]) v.value();
                    i64(a.length);
                    room(4L * a.length);
                    for (float x : a) {
                        b.putFloat(x);
                    }
                }
                default -> throw new IllegalArgumentException("unsupported GGUF array type " + v.elementType());
            }
        }

        int size() {
            return b.position();
        }

        ByteBuffer flip() {
            b.flip();
            return b;
        }
    }
}
