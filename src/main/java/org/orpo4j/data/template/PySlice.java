package org.orpo4j.data.template;

/** Python's {@code slice.indices}: the positions a slice selects, for strings, lists and str.split results. */
final class PySlice {

    private PySlice() {}

    /** The indices selected by {@code [start:stop:step]} (each nullable) of a sequence of {@code length}. */
    static int[] indices(int length, Integer start, Integer stop, Integer step) {
        int by = step == null ? 1 : step;
        if (by == 0) {
            throw new IllegalArgumentException("slice step cannot be zero");
        }
        int from;
        int to;
        if (by > 0) {
            from = start == null ? 0 : clamp(start, length, 0, length);
            to = stop == null ? length : clamp(stop, length, 0, length);
        } else {
            from = start == null ? length - 1 : clamp(start, length, -1, length - 1);
            to = stop == null ? -1 : clamp(stop, length, -1, length - 1);
        }
        int count = by > 0 ? Math.max(0, (to - from + by - 1) / by) : Math.max(0, (from - to - by - 1) / -by);
        int[] out = new int[count];
        for (int k = 0; k < count; k++) {
            out[k] = from + k * by;
        }
        return out;
    }

    private static int clamp(int index, int length, int lower, int upper) {
        int i = index < 0 ? index + length : index;
        return Math.max(lower, Math.min(upper, i));
    }
}
