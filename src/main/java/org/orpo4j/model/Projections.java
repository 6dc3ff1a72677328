package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.ArrayList;
import java.util.List;

/**
 * Several projections of one input: one {@link Linear} each ({@code q_proj, k_proj, v_proj}; {@code gate_proj,
 * up_proj}), or one fused {@code Linear} whose output rows are theirs stacked in order (phi3's {@code qkv_proj},
 * {@code gate_up_proj}), split after the matmul. Registered as a part, so its linears keep their HF names.
 */
final class Projections extends Module {

    private final List<Linear> linears = new ArrayList<>();
    private final long[] splitPoints; // empty unless fused

    private Projections(long[] splitPoints) {
        this.splitPoints = splitPoints;
    }

    /** One linear per output, {@code names[i]} of width {@code widths[i]}. */
    static Projections separate(long in, boolean bias, String[] names, long[] widths) {
        Projections p = new Projections(new long[0]);
        for (int i = 0; i < names.length; i++) {
            p.linears.add(p.addChild(names[i], new Linear(in, widths[i], bias)));
        }
        return p;
    }

    /** One bias-free linear {@code name} of width Σ widths, its output cut into the given widths. */
    static Projections fused(long in, String name, long[] widths) {
        long[] points = new long[widths.length - 1];
        long total = widths[0];
        for (int i = 1; i < widths.length; i++) {
            points[i - 1] = total;
            total += widths[i];
        }
        Projections p = new Projections(points);
        p.linears.add(p.addChild(name, new Linear(in, total, false)));
        return p;
    }

    /** [..., in] -> the outputs [..., width_i] in order. */
    NDList forward(NDArray x) {
        if (splitPoints.length == 0) {
            NDList out = new NDList(linears.size());
            linears.forEach(linear -> out.add(linear.forward(x)));
            return out;
        }
        NDArray fused = linears.get(0).forward(x);
        return fused.split(splitPoints, fused.getShape().dimension() - 1);
    }
}
