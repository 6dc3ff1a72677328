package org.orpo4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

/**
 * The keys and values each layer has already computed during generation, so that a new token only attends
 * instead of recomputing the prefix. Entries are kept un-repeated ([N, Hkv, S, D]) and live in the cache's own
 * manager; the previous entry of a layer is closed when it grows. During a step an entry is lent to the step's
 * manager ({@code tempAttach}), so what attention derives from it is freed with the step, not kept with the cache.
 */
final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private long length;

    KvCache(NDManager parent, int layers) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
    }

    /** Positions already cached (the next token's position). */
    long length() {
        return length;
    }

    /**
     * Appends this step's k, v [N, Hkv, T, D] for {@code layer}; returns the whole k, v [N, Hkv, S, D], lent to the
     * manager of {@code k} until that manager closes.
     */
    NDList append(int layer, NDArray k, NDArray v) {
        keys[layer] = grow(keys[layer], k);
        values[layer] = grow(values[layer], v);
        if (layer == keys.length - 1) {
            length = keys[layer].getShape().get(2);
        }
        NDManager step = k.getManager();
        keys[layer].tempAttach(step);
        values[layer].tempAttach(step);
        return new NDList(keys[layer], values[layer]);
    }

    private NDArray grow(NDArray cached, NDArray step) {
        NDArray grown = cached == null ? step.duplicate() : NDArrays.concat(new NDList(cached, step), 2);
        NDScope.unregister(grown); // outlives the layer's scope (DecoderLayer)
        grown.attach(manager);
        if (cached != null) {
            cached.close();
        }
        return grown;
    }

    /** Forgets every entry: the next step starts from position 0. */
    void clear() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) {
                keys[i].close();
                values[i].close();
            }
            keys[i] = null;
            values[i] = null;
        }
        length = 0;
    }

    @Override
    public void close() {
        manager.close();
    }
}
