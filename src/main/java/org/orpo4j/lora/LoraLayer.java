package org.orpo4j.lora;

import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.Map;
import org.orpo4j.model.LinearAdapter;
import org.orpo4j.runtime.Casts;
import org.orpo4j.runtime.Scalars;

/**
 * PEFT's LoRA addition to one linear layer: {@code s · B(A(dropout(x)))} with {@code A [r, in]}, {@code B [out, r]}
 * and {@code s = lora_alpha / r} (rsLoRA: {@code / sqrt(r)}). The input is cast to the adapter's dtype first, as
 * PEFT does; dropout acts on the adapter's input only and only while its {@link LoraModel} trains.
 */
final class LoraLayer implements LinearAdapter {

    static final String A = "lora_A.weight";
    static final String B = "lora_B.weight";

    private final LoraModel owner;
    private final NDArray a; // [r, in]
    private final NDArray b; // [out, r]

    LoraLayer(LoraModel owner, NDArray a, NDArray b) {
        this.owner = owner;
        this.a = a;
        this.b = b;
    }

    LoraModel owner() {
        return owner;
    }

    NDArray a() {
        return a;
    }

    NDArray b() {
        return b;
    }

    @Override
    public NDArray forward(NDArray x) {
        NDArray in = Casts.to(x, a.getDataType()); // [..., in]
        double p = owner.config().dropout();
        if (p > 0 && owner.training()) {
            in = in.getNDArrayInternal().dropout(in, (float) p, true).singletonOrThrow();
        }
        NDArray down = in.getNDArrayInternal().linear(in, a, null).singletonOrThrow(); // [..., r]
        NDArray up = down.getNDArrayInternal().linear(down, b, null).singletonOrThrow(); // [..., out]
        return up.mul(Scalars.like(up, owner.config().scaling()));
    }

    @Override
    public Map<String, NDArray> parameters() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put(A, a);
        out.put(B, b);
        return out;
    }
}
