package org.orpo4j.export;

/**
 * HF's llama checkpoints rotate the two halves of each head ({@code rotate_half}); llama.cpp's llama rotates
 * adjacent pairs. The converter reorders each head's rows from {@code [first half | second half]} to interleaved
 * pairs: within a head of {@code d} rows, row {@code 2i + j} takes row {@code j·d/2 + i}.
 */
final class QkPermutation {

    private QkPermutation() {}

    /** {@code rows × cols} values (a bias: cols = 1) of {@code heads} heads, reordered. */
    static float[] apply(float[] x, int heads, int cols) {
        int rows = x.length / cols;
        if (rows % (2 * heads) != 0) {
            throw new IllegalArgumentException(rows + " rows do not split into " + heads + " heads of even size");
        }
        int headRows = rows / heads;
        int half = headRows / 2;
        float[] out = new float[x.length];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < half; i++) {
                for (int j = 0; j < 2; j++) {
                    int dst = h * headRows + 2 * i + j;
                    int src = h * headRows + j * half + i;
                    System.arraycopy(x, src * cols, out, dst * cols, cols);
                }
            }
        }
        return out;
    }
}
