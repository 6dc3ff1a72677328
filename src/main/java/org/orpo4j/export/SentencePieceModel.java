package org.orpo4j.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pieces of a SentencePiece {@code tokenizer.model} (the protobuf {@code ModelProto}: field 1, repeated
 * {@code SentencePiece {string piece = 1; float score = 2; Type type = 3 [default NORMAL]}}), read with a minimal
 * protobuf reader; every other field is skipped.
 */
final class SentencePieceModel {

    /** SentencePiece's piece types (the same numbers as llama.cpp's token types). */
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    record Piece(String text, float score, int type) {}

    private SentencePieceModel() {}

    static List<Piece> read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<Piece> pieces = new ArrayList<>();
        try {
            while (b.hasRemaining()) {
                long key = varint(b);
                int field = (int) (key >>> 3);
                int wire = (int) (key & 7);
                if (field == 1 && wire == 2) {
                    int len = (int) varint(b);
                    pieces.add(piece(b.slice(b.position(), len).order(ByteOrder.LITTLE_ENDIAN)));
                    b.position(b.position() + len);
                } else {
                    skip(b, wire);
                }
            }
        } catch (RuntimeException e) {
            throw new IOException(file + ": not a SentencePiece model (" + e.getMessage() + ")", e);
        }
        if (pieces.isEmpty()) {
            throw new IOException(file + ": a SentencePiece model without pieces");
        }
        return pieces;
    }

    private static Piece piece(ByteBuffer b) {
        String text = "";
        float score = 0;
        int type = NORMAL;
        while (b.hasRemaining()) {
            long key = varint(b);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            if (field == 1 && wire == 2) {
                byte[] bytes = new byte[(int) varint(b)];
                b.get(bytes);
                text = new String(bytes, StandardCharsets.UTF_8);
            } else if (field == 2 && wire == 5) {
                score = b.getFloat();
            } else if (field == 3 && wire == 0) {
                type = (int) varint(b);
            } else {
                skip(b, wire);
            }
        }
        return new Piece(text, score, type);
    }

    private static long varint(ByteBuffer b) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int x = b.get() & 0xFF;
            v |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("a varint longer than 10 bytes");
    }

    private static void skip(ByteBuffer b, int wire) {
        switch (wire) {
            case 0 -> varint(b);
            case 1 -> b.position(b.position() + 8);
            case 2 -> {
                int len = (int) varint(b); // read before b.position() is taken
                b.position(b.position() + len);
            }
            case 5 -> b.position(b.position() + 4);
            default -> throw new IllegalArgumentException("protobuf wire type " + wire);
        }
    }
}
