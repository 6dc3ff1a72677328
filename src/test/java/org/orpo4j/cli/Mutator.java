package org.orpo4j.cli;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

/** The mutations {@link FuzzTest} applies: each picks one at random and records which in {@link #last}. */
final class Mutator {

    static String last;

    private Mutator() {}

    static byte[] mutate(byte[] original, Random r, boolean binary) {
        int choice = r.nextInt(binary ? 7 : 6);
        return switch (choice) {
            case 0 -> truncate(original, r);
            case 1 -> flipBits(original, r, 1 + r.nextInt(8), binary ? headerEnd(original) : original.length);
            case 2 -> replaceNumber(original, r);
            case 3 -> nest(original, r);
            case 4 -> replaceValue(original, r);
            case 5 -> duplicateOrDrop(original, r);
            default -> lieAboutLength(original, r);
        };
    }

    private static byte[] truncate(byte[] b, Random r) {
        last = "truncated";
        return Arrays.copyOf(b, r.nextInt(b.length));
    }

    /** Flips bits, mostly in the first {@code region} bytes (a safetensors header). */
    private static byte[] flipBits(byte[] b, Random r, int flips, int region) {
        last = flips + " bit flips";
        byte[] out = b.clone();
        for (int i = 0; i < flips; i++) {
            int at = r.nextInt(4) == 0 ? r.nextInt(out.length) : r.nextInt(Math.max(1, Math.min(region, out.length)));
            out[at] ^= (byte) (1 << r.nextInt(8));
        }
        return out;
    }

    /** A run of digits replaced by a huge, negative or fractional number. */
    private static byte[] replaceNumber(byte[] b, Random r) {
        String[] numbers = {"99999999999999999999999", "-1", "0", "1e308", "-9223372036854775809", "4294967296",
                "2147483648", "1.5", "NaN", "123456789012345678901234567890123456789012345678901234567890"};
        String n = numbers[r.nextInt(numbers.length)];
        last = "number -> " + n;
        int end = Math.min(b.length, headerEnd(b));
        for (int tries = 0; tries < 50; tries++) {
            int at = r.nextInt(Math.max(1, end));
            if (at < b.length && Character.isDigit(b[at])) {
                int s = at;
                int e = at;
                while (s > 0 && Character.isDigit(b[s - 1])) {
                    s--;
                }
                while (e < end && Character.isDigit(b[e])) {
                    e++;
                }
                return splice(b, s, e, n.getBytes(StandardCharsets.US_ASCII));
            }
        }
        return b.clone();
    }

    /** A value wrapped in thousands of nested arrays. */
    private static byte[] nest(byte[] b, Random r) {
        int depth = 50 + r.nextInt(5000);
        last = "nested " + depth;
        int at = colon(b, r);
        if (at < 0) {
            return b.clone();
        }
        String open = "[".repeat(depth);
        String close = "]".repeat(depth);
        byte[] out = splice(b, at + 1, at + 1, open.getBytes(StandardCharsets.US_ASCII));
        int end = at + 1 + open.length();
        while (end < out.length && out[end] != ',' && out[end] != '}') {
            end++;
        }
        return splice(out, end, end, close.getBytes(StandardCharsets.US_ASCII));
    }

    /** A value after a colon replaced by another type. */
    private static byte[] replaceValue(byte[] b, Random r) {
        String[] values = {"null", "\"text\"", "[]", "{}", "true", "[1,2,3]", "{\"a\":{\"b\":null}}", "\"\\u0000\"",
                "\"" + "x".repeat(100_000) + "\""};
        String v = values[r.nextInt(values.length)];
        last = "value -> " + (v.length() > 20 ? v.substring(0, 20) + "..." : v);
        int at = colon(b, r);
        if (at < 0) {
            return b.clone();
        }
        int end = at + 1;
        int depth = 0;
        while (end < b.length) {
            byte c = b[end];
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0) {
                    break;
                }
                depth--;
            } else if (c == ',' && depth == 0) {
                break;
            }
            end++;
        }
        return splice(b, at + 1, end, v.getBytes(StandardCharsets.UTF_8));
    }

    /** A slice of the input repeated or removed. */
    private static byte[] duplicateOrDrop(byte[] b, Random r) {
        int s = r.nextInt(b.length);
        int e = Math.min(b.length, s + 1 + r.nextInt(64));
        boolean drop = r.nextBoolean();
        last = (drop ? "dropped " : "duplicated ") + (e - s) + " bytes";
        return drop ? splice(b, s, e, new byte[0]) : splice(b, s, s, Arrays.copyOfRange(b, s, e));
    }

    /** A safetensors header length that lies (or a first line made huge in a text file). */
    private static byte[] lieAboutLength(byte[] b, Random r) {
        long[] lies = {0, 1, 7, Long.MAX_VALUE, -1, 1L << 40, b.length, b.length - 8, 1L << 31};
        long lie = lies[r.nextInt(lies.length)];
        last = "header length " + lie;
        byte[] out = b.clone();
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, lie);
        return out;
    }

    /** Index just past a safetensors header (the JSON), or the whole input for text. */
    private static int headerEnd(byte[] b) {
        if (b.length < 8) {
            return b.length;
        }
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return n > 0 && n < b.length - 8 ? (int) (8 + n) : b.length;
    }

    /** A random ':' (a JSON key's end) within the text part, or -1. */
    private static int colon(byte[] b, Random r) {
        int end = headerEnd(b);
        for (int tries = 0; tries < 100; tries++) {
            int at = r.nextInt(Math.max(1, end));
            if (at < b.length && b[at] == ':') {
                return at;
            }
        }
        return -1;
    }

    private static byte[] splice(byte[] b, int from, int to, byte[] insert) {
        byte[] out = new byte[b.length - (to - from) + insert.length];
        System.arraycopy(b, 0, out, 0, from);
        System.arraycopy(insert, 0, out, from, insert.length);
        System.arraycopy(b, to, out, from + insert.length, b.length - to);
        return out;
    }
}
