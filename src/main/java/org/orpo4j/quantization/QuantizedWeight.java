package org.orpo4j.quantization;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import org.orpo4j.runtime.Casts;
import org.orpo4j.runtime.GradMode;

/**
 * A frozen weight W [out, in] in 4 bits as bitsandbytes keeps it ({@code Params4bit}): packed codes, the absmax of
 * each block (float32, or nested: 8-bit codes of {@code absmax - offset} with their own absmax per 256 blocks) and
 * its {@link QuantState}; all in libtorch's memory. The layer's forward {@link #linear dequantizes} W into the
 * compute dtype right before its matmul and drops it right after, so the model never holds a float copy of the
 * base; gradient checkpointing recomputes a layer, and with it the dequantization.
 */
public final class QuantizedWeight {

    private final QuantState state;
    private DataType computeDtype;
    private final NDArray packed; // uint8 [(n + 1) / 2, 1]
    private final NDArray absmax; // float32 [blocks], or uint8 [blocks] when nested
    private final NDArray nestedAbsmax; // float32 [ceil(blocks / 256)], or null
    private final NDArray nestedCode; // float32 [256, 1], or null
    private final NDArray pairs; // float32 [256, 2]: a byte's two code values, high nibble first

    QuantizedWeight(QuantState state, DataType computeDtype, NDArray packed, NDArray absmax, NDArray nestedAbsmax,
            NDArray nestedCode) {
        this.state = state;
        this.computeDtype = computeDtype;
        this.packed = packed;
        this.absmax = absmax;
        this.nestedAbsmax = nestedAbsmax;
        this.nestedCode = nestedCode == null ? null : nestedCode.reshape(256, 1);
        float[] table = new float[512];
        for (int b = 0; b < 256; b++) {
            table[2 * b] = state.type().value(b >> 4);
            table[2 * b + 1] = state.type().value(b & 15);
        }
        this.pairs = owned(packed.getManager(), table, new Shape(256, 2));
    }

    /**
     * Quantizes the values a finished {@link Blockwise4bit} holds into a weight of {@code shape} in {@code manager},
     * the absmax values quantized again when {@code config} asks (their mean subtracted, computed by libtorch as
     * bitsandbytes' {@code absmax.mean()} is, then 8-bit blocks of 256 with the dynamic map).
     */
    public static QuantizedWeight of(Blockwise4bit quantized, long[] shape, QuantConfig config, NDManager manager) {
        byte[] codes = quantized.packed();
        float[] absmax = quantized.absmax();
        NDArray packed = owned(manager, codes, new Shape(codes.length, 1));
        if (!config.doubleQuant()) {
            QuantState state = new QuantState(config.type(), config.blocksize(), "float32", shape, null);
            return new QuantizedWeight(state, config.computeDtype(), packed, owned(manager, absmax,
                    new Shape(absmax.length)), null, null);
        }
        float offset;
        try (NDManager scratch = manager.newSubManager();
                NDArray a = owned(scratch, absmax, new Shape(absmax.length)); NDArray mean = a.mean()) {
            offset = mean.getFloat();
        }
        float[] centred = new float[absmax.length];
        for (int i = 0; i < centred.length; i++) {
            centred[i] = absmax[i] - offset;
        }
        float[] map = Blockwise8bit.dynamicMap(manager);
        Blockwise8bit.Result nested = Blockwise8bit.quantize(centred, map, QuantConfig.NESTED_BLOCKSIZE);
        QuantState state = new QuantState(config.type(), config.blocksize(), "float32", shape,
                new QuantState.Nested(QuantConfig.NESTED_BLOCKSIZE, "float32", offset));
        return new QuantizedWeight(state, config.computeDtype(), packed,
                owned(manager, nested.codes(), new Shape(nested.codes().length)),
                owned(manager, nested.absmax(), new Shape(nested.absmax().length)),
                owned(manager, map, new Shape(256)));
    }

    public QuantState state() {
        return state;
    }

    /** The dtype {@link #linear} computes in ({@code bnb_4bit_compute_dtype}). */
    public DataType computeDtype() {
        return computeDtype;
    }

    /**
     * Computes in {@code dtype} from now on: mixed precision runs the 4-bit layers in its half type, as autocast
     * runs the matmul of bitsandbytes' {@code Linear4bit} (the float32 dequantized weight cast to the half type).
     */
    public void computeIn(DataType dtype) {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16 && dtype != DataType.BFLOAT16) {
            throw new IllegalArgumentException("4-bit compute dtype " + dtype + " is not float32, float16 or"
                    + " bfloat16");
        }
        computeDtype = dtype;
    }

    /** Bytes held: codes and absmax values (what replaces {@code 4 · out · in} bytes of float32). */
    public long bytes() {
        long n = packed.size() + absmax.size() * absmax.getDataType().getNumOfBytes();
        return nestedAbsmax == null ? n : n + 4 * (nestedAbsmax.size() + 256);
    }

    /**
     * {@code x · Wᵀ + b} as bitsandbytes' {@code Linear4bit} computes it: x and b cast to the compute dtype, W
     * dequantized into it, the result cast back to x's dtype; in x's manager, the dequantized W closed at once
     * (autograd keeps it until its backward when x records gradients).
     */
    public NDArray linear(NDArray x, NDArray bias) {
        NDArray in = Casts.to(x, computeDtype);
        NDArray b = bias == null ? null : Casts.to(bias, computeDtype);
        NDArray y;
        try (NDArray w = dequantize(x.getManager(), computeDtype)) {
            y = in.getNDArrayInternal().linear(in, w, b).singletonOrThrow();
        }
        return Casts.to(y, x.getDataType());
    }

    /**
     * W [shape] in {@code dtype}, in {@code manager}: {@code code[q] · absmax[block]} in float32 (the absmax first
     * recovered as {@code code2[q2] · absmax2[block2] + offset} when nested), as bitsandbytes' dequantization.
     */
    public NDArray dequantize(NDManager manager, DataType dtype) {
        long n = state.numel();
        try (NDManager scratch = manager.newSubManager(packed.getDevice()); GradMode off = GradMode.enabled(false)) {
            NDArray values = lookUp(packed, pairs, scratch).reshape(-1); // [2 · ceil(n / 2)]
            if (values.size() != n) {
                values = values.get("0:" + n);
            }
            NDArray w = scaleBlocks(values, blockAbsmax(scratch), state.blocksize(), scratch)
                    .reshape(new Shape(state.shape()));
            if (dtype != DataType.FLOAT32) {
                w = w.toType(dtype, false);
            }
            w.attach(manager);
            return w;
        }
    }

    /** The float32 absmax of every block: stored, or recovered from the nested codes. */
    private NDArray blockAbsmax(NDManager scratch) {
        if (nestedAbsmax == null) {
            return absmax;
        }
        NDArray values = lookUp(absmax, nestedCode, scratch).reshape(-1); // [blocks]
        NDArray scaled = scaleBlocks(values, nestedAbsmax, QuantConfig.NESTED_BLOCKSIZE, scratch);
        return scaled.addi(state.nested().offset());
    }

    /** {@code table[codes]} for uint8 codes: rows of the table, through an int32 copy of the codes. */
    private static NDArray lookUp(NDArray codes, NDArray table, NDManager scratch) {
        NDArray index = codes.toType(DataType.INT32, false);
        index.attach(scratch);
        NDList rows = index.getNDArrayInternal().embedding(index.reshape(-1), table, SparseFormat.DENSE);
        NDArray out = rows.singletonOrThrow();
        out.attach(scratch);
        return out;
    }

    /**
     * {@code values[i] · scales[i / block]} over the flat values (in {@code scratch}), the last block possibly
     * shorter; views of {@code scales}, which may be the weight's own array, are kept in {@code scratch} too.
     */
    private static NDArray scaleBlocks(NDArray values, NDArray scales, int block, NDManager scratch) {
        long n = values.size();
        long blocks = scales.size();
        boolean whole = n == blocks * block;
        NDArray perBlock = whole ? scales.reshape(blocks, 1) : scales.repeat(0, block); // [blocks, 1] | [blocks·block]
        perBlock.attach(scratch);
        return whole ? values.reshape(blocks, block).muli(perBlock).reshape(n) : values.muli(perBlock.get("0:" + n));
    }

    /**
     * The tensors transformers saves for this weight under {@code name} ({@code ....q_proj.weight}): the packed
     * codes, {@code .absmax}, {@code .quant_map}, the nested ones and {@code .quant_state.bitsandbytes__<type>},
     * new arrays (the code books and the JSON) made in {@code manager}.
     */
    public Map<String, NDArray> tensors(String name, NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put(name, packed);
        out.put(name + ".absmax", absmax);
        out.put(name + ".quant_map", owned(manager, state.type().code(), new Shape(16)));
        if (nestedAbsmax != null) {
            out.put(name + ".nested_absmax", nestedAbsmax);
            NDArray map = nestedCode.reshape(256); // a view, kept in manager rather than the weight's
            map.attach(manager);
            out.put(name + ".nested_quant_map", map);
        }
        byte[] json = state.toJsonBytes();
        out.put(name + "." + QuantState.KEY + state.type().bnbName(), owned(manager, json, new Shape(json.length)));
        return out;
    }

    /** Frees the codes and absmax values (when the weight is dequantized for good). */
    public void close() {
        for (NDArray a : new NDArray[] {packed, absmax, nestedAbsmax, nestedCode, pairs}) {
            if (a != null) {
                a.close();
            }
        }
    }

    /**
     * {@code values} in an array libtorch owns: on the CPU written straight into a new tensor's memory (no direct
     * buffer left for the GC to free, which a 7B model's many megabytes of codes would pile up), elsewhere copied.
     */
    static NDArray owned(NDManager manager, float[] values, Shape shape) {
        if (manager.getDevice().equals(Device.cpu())) {
            NDArray out = manager.create(shape, DataType.FLOAT32);
            out.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer().put(values);
            return out;
        }
        try (NDArray javaBacked = manager.create(values, shape)) {
            return javaBacked.duplicate();
        }
    }

    static NDArray owned(NDManager manager, byte[] values, Shape shape) {
        if (manager.getDevice().equals(Device.cpu())) {
            NDArray out = manager.create(shape, DataType.UINT8);
            out.toByteBuffer(true).put(values);
            return out;
        }
        try (NDArray javaBacked = manager.create(ByteBuffer.wrap(values), shape, DataType.UINT8)) {
            return javaBacked.duplicate();
        }
    }
}
