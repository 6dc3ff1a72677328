package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.runtime.DjlRuntime;

class CheckpointManagerTest {

    @TempDir
    Path out;

    @Test
    void writesWholeFoldersAndKeepsTheLastK() throws IOException {
        CheckpointManager ckpt = new CheckpointManager(out, 2);
        for (long step : new long[] {5, 10, 15}) {
            Path dir = ckpt.save(step, Map.of(), d -> Files.writeString(d.resolve("trainer_state.json"), "{}"));
            assertEquals(out.resolve("checkpoint-" + step), dir);
        }
        assertEquals(List.of(out.resolve("checkpoint-10"), out.resolve("checkpoint-15")),
                CheckpointManager.list(out));
        assertEquals(out.resolve("checkpoint-15"), CheckpointManager.latest(out).orElseThrow());
        assertEquals(15, CheckpointManager.stepOf(out.resolve("checkpoint-15")));
        // numeric, not lexicographic, order
        ckpt = new CheckpointManager(out, null);
        ckpt.save(100, Map.of(), d -> Files.writeString(d.resolve("trainer_state.json"), "{}"));
        assertEquals(out.resolve("checkpoint-100"), CheckpointManager.latest(out).orElseThrow());
        try (var files = Files.list(out)) {
            assertEquals(3, files.count()); // no temporary folder left
        }
    }

    @Test
    void aFailedWriteLeavesNothingAndLeftoversAreCleaned() throws IOException {
        CheckpointManager ckpt = new CheckpointManager(out, null);
        assertThrows(IOException.class, () -> ckpt.save(3, Map.of(), d -> {
            Files.writeString(d.resolve("model.safetensors"), "half");
            throw new IOException("disk full");
        }));
        assertTrue(CheckpointManager.list(out).isEmpty());
        try (var files = Files.list(out)) {
            assertEquals(0, files.count());
        }
        Files.createDirectories(out.resolve(".tmp-checkpoint-7"));
        Files.createDirectories(out.resolve("checkpoint-9")); // no trainer_state.json: incomplete, never latest
        new CheckpointManager(out, null);
        assertFalse(Files.exists(out.resolve(".tmp-checkpoint-7")));
        assertTrue(CheckpointManager.latest(out).isEmpty());
    }

    /**
     * A save that hits the kernel's ENOSPC (the writer copies into /dev/full) fails in one line naming the
     * checkpoint and the previous one, which stays as it was, and leaves no temporary folder.
     */
    @Test
    void aDiskFullSaveKeepsThePreviousCheckpoint() throws IOException {
        CheckpointManager ckpt = new CheckpointManager(out, 1);
        ckpt.save(2, Map.of(), d -> Files.writeString(d.resolve("trainer_state.json"), "{\"step\": 2}"));
        IOException e = assertThrows(IOException.class, () -> ckpt.save(4, Map.of(), d -> {
            Files.writeString(d.resolve("trainer_state.json"), "{}");
            Files.write(Path.of("/dev/full"), new byte[1 << 16]); // ENOSPC, as on a full disk
        }));
        assertEquals("cannot write " + out.resolve("checkpoint-4") + ": IOException: No space left on device; the"
                + " previous checkpoint checkpoint-2 is intact", e.getMessage());
        assertEquals(List.of(out.resolve("checkpoint-2")), CheckpointManager.list(out), "not rotated away");
        assertEquals("{\"step\": 2}", Files.readString(out.resolve("checkpoint-2/trainer_state.json")));
        try (var files = Files.list(out)) {
            assertEquals(1, files.count()); // no temporary folder left
        }
    }

    @Test
    void neverWritesNonFiniteWeights() throws IOException {
        CheckpointManager ckpt = new CheckpointManager(out, null);
        try (NDManager m = DjlRuntime.newManager(Device.cpu())) {
            NDArray fine = m.create(new float[] {1f, -2f});
            NDArray bad = m.create(new float[] {1f, Float.NaN});
            NDArray inf = m.create(new float[] {Float.NEGATIVE_INFINITY});
            int before = m.getManagedArrays().size();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> ckpt.save(4, Map.of("a", fine, "model.norm.weight", bad), d -> {}));
            assertTrue(e.getMessage().contains("model.norm.weight"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> ckpt.save(4, Map.of("x", inf), d -> {}));
            assertEquals(before, m.getManagedArrays().size());
            assertTrue(CheckpointManager.list(out).isEmpty());
            ckpt.save(4, Map.of("a", fine), d -> Files.writeString(d.resolve("trainer_state.json"), "{}"));
            assertEquals(1, CheckpointManager.list(out).size());
        }
    }

    /**
     * A kill between the two renames of a re-save (checkpoint-6 moved aside, the new one not yet in place) must not
     * lose checkpoint-6: the next run puts it back; when the new one did land, the old copy is dropped.
     */
    @Test
    void aCheckpointMovedAsideByAKilledSaveIsRestored() throws IOException {
        Path aside = Files.createDirectories(out.resolve(".tmp-checkpoint-6-old"));
        Files.writeString(aside.resolve("trainer_state.json"), "{\"step\": 6}");
        Files.createDirectories(out.resolve(".tmp-checkpoint-6")); // the replacement, never moved in
        Path landed = Files.createDirectories(out.resolve("checkpoint-8"));
        Files.writeString(landed.resolve("trainer_state.json"), "{\"step\": 8, \"new\": true}");
        Files.writeString(Files.createDirectories(out.resolve(".tmp-checkpoint-8-old")).resolve("trainer_state.json"),
                "{\"step\": 8}");
        new CheckpointManager(out, null);
        assertEquals(List.of(out.resolve("checkpoint-6"), out.resolve("checkpoint-8")), CheckpointManager.list(out));
        assertEquals("{\"step\": 6}", Files.readString(out.resolve("checkpoint-6/trainer_state.json")));
        assertEquals("{\"step\": 8, \"new\": true}", Files.readString(out.resolve("checkpoint-8/trainer_state.json")));
        try (var files = Files.list(out)) {
            assertEquals(2, files.count()); // no temporary folder left
        }
    }
}
