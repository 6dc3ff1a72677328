package org.orpo4j.quantization;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.DType;
import org.orpo4j.safetensors.TensorInfo;

/**
 * The tensors transformers saves for a bitsandbytes 4-bit weight {@code W} (a pre-quantized checkpoint, e.g. the
 * "-bnb-4bit" models): {@code W} itself (the packed codes, U8), {@code W.absmax}, {@code W.quant_map}, with nested
 * quantization {@code W.nested_absmax} and {@code W.nested_quant_map}, and {@code W.quant_state.bitsandbytes__nf4}
 * (or {@code __fp4}): the JSON of the rest. Read back exactly as they are, after checking each against the state and
 * the shape the model's config implies.
 */
public final class BnbTensors {

    private static final String[] PARTS = {".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map"};

    private BnbTensors() {}

    /** The name of {@code weight}'s packed quant_state in {@code reader}, if the checkpoint quantized it. */
    public static Optional<String> stateKey(CheckpointReader reader, String weight) {
        for (QuantType t : QuantType.values()) {
            String key = weight + "." + QuantState.KEY + t.bnbName();
            if (reader.contains(key)) {
                return Optional.of(key);
            }
        }
        return Optional.empty();
    }

    /** Every tensor name that belongs to 4-bit weight {@code weight}, itself included, present in {@code reader}. */
    public static List<String> names(CheckpointReader reader, String weight) {
        List<String> out = new ArrayList<>(List.of(weight));
        for (String part : PARTS) {
            if (reader.contains(weight + part)) {
                out.add(weight + part);
            }
        }
        stateKey(reader, weight).ifPresent(out::add);
        return out;
    }

    /**
     * Reads 4-bit weight {@code weight} of shape {@code shape} ([out, in], from config.json) into {@code manager},
     * computing in {@code computeDtype}. A state or tensor that does not fit is an {@link IllegalArgumentException}
     * naming the file, the tensor and what is wrong.
     */
    public static QuantizedWeight read(CheckpointReader reader, String weight, long[] shape, DataType computeDtype,
            NDManager manager) {
        String key = stateKey(reader, weight).orElseThrow(() -> new IllegalArgumentException(reader.fileOf(weight)
                + ": tensor '" + weight + "' has no " + QuantState.KEY + "nf4 or fp4 beside it"));
        String file = reader.fileOf(key).toString();
        QuantState state = QuantState.parse(reader.readBytes(key), file, key);
        if (!Arrays.equals(state.shape(), shape)) {
            throw new IllegalArgumentException(file + ": tensor '" + key + "': field 'shape' is "
                    + Arrays.toString(state.shape()) + " but config.json implies " + Arrays.toString(shape));
        }
        long blocks = state.blocks();
        check(reader, file, weight, DType.U8, (state.numel() + 1) / 2, "the packed codes of " + state.numel()
                + " values");
        boolean nested = state.nested() != null;
        check(reader, file, weight + ".absmax", nested ? DType.U8 : DType.F32, blocks, "one absmax per block of "
                + state.blocksize());
        check(reader, file, weight + ".quant_map", DType.F32, 16, "the 16 values of " + state.type());
        if (!Arrays.equals(reader.readFloats(weight + ".quant_map"), state.type().code())) {
            throw new IllegalArgumentException(reader.fileOf(weight + ".quant_map") + ": tensor '" + weight
                    + ".quant_map' is not bitsandbytes' " + state.type() + " code book");
        }
        NDArray nestedAbsmax = null;
        NDArray nestedCode = null;
        if (nested) {
            long nestedBlocks = (blocks + state.nested().blocksize() - 1) / state.nested().blocksize();
            check(reader, file, weight + ".nested_absmax", DType.F32, nestedBlocks, "one absmax per "
                    + state.nested().blocksize() + " blocks");
            check(reader, file, weight + ".nested_quant_map", DType.F32, 256, "an 8-bit code of 256 values");
            nestedAbsmax = reader.load(weight + ".nested_absmax", manager).reshape(nestedBlocks);
            nestedCode = reader.load(weight + ".nested_quant_map", manager).reshape(256);
        } else {
            for (String part : new String[] {".nested_absmax", ".nested_quant_map"}) {
                if (reader.contains(weight + part)) {
                    throw new IllegalArgumentException(reader.fileOf(weight + part) + ": tensor '" + weight + part
                            + "' is present but quant_state '" + key + "' has no nested fields");
                }
            }
        }
        NDArray packed = reader.load(weight, manager).reshape((state.numel() + 1) / 2, 1);
        NDArray absmax = reader.load(weight + ".absmax", manager).reshape(blocks);
        return new QuantizedWeight(state, computeDtype, packed, absmax, nestedAbsmax, nestedCode);
    }

    private static void check(CheckpointReader reader, String file, String name, DType dtype, long numel,
            String what) {
        if (!reader.contains(name)) {
            throw new IllegalArgumentException(file + ": missing tensor '" + name + "' (" + what + ")");
        }
        TensorInfo info = reader.info(name);
        if (info.dtype() != dtype || info.numel() != numel) {
            throw new IllegalArgumentException(reader.fileOf(name) + ": tensor '" + name + "' is " + info.dtype()
                    + Arrays.toString(info.shape()) + ", expected " + dtype + " with " + numel + " values (" + what
                    + ")");
        }
    }
}
