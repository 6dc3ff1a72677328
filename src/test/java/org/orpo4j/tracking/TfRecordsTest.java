package org.orpo4j.tracking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.tracking.proto.Event;
import org.orpo4j.tracking.proto.Summary;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.TrainerState;

/** TFRecord framing by hand-derived numbers, the resume cut of an event file, HF's tag names. */
class TfRecordsTest {

    @TempDir
    Path tmp;

    /**
     * CRC-32C("123456789") is 0xE3069283 (the Castagnoli check value, RFC 3720). Masked: rotated right by 15 it is
     * 0x25060000 | 0x0001C60D = 0x2507C60D, plus 0xA282EAD8 gives 0xC78AB0E5; the empty string's CRC is 0, masked
     * 0xA282EAD8.
     */
    @Test
    void maskedCrc32cByHand() {
        byte[] digits = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xC78AB0E5, TfRecords.maskedCrc32c(digits, 0, digits.length));
        assertEquals(0xA282EAD8, TfRecords.maskedCrc32c(new byte[0], 0, 0));
    }

    @Test
    void aRecordIsLengthCrcDataCrcLittleEndian() throws Exception {
        byte[] data = "123456789".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer record = ByteBuffer.wrap(TfRecords.frame(data)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(8 + 4 + 9 + 4, record.capacity());
        assertEquals(9L, record.getLong());
        byte[] length = {9, 0, 0, 0, 0, 0, 0, 0};
        assertEquals(TfRecords.maskedCrc32c(length, 0, 8), record.getInt());
        byte[] back = new byte[9];
        record.get(back);
        assertArrayEquals(data, back);
        assertEquals(0xC78AB0E5, record.getInt());
    }

    /** A record cut short by a kill, or with a bad checksum, ends what is read; the records before it survive. */
    @Test
    void readingStopsAtACutOrCorruptRecord() throws Exception {
        byte[] a = TfRecords.frame(new byte[] {1, 2, 3});
        byte[] b = TfRecords.frame(new byte[] {4, 5});
        Path file = tmp.resolve("f");
        Files.write(file, concat(a, b, Arrays.copyOf(a, a.length - 2)));
        assertEquals(2, TfRecords.read(file).size());
        byte[] bad = b.clone();
        bad[bad.length - 1] ^= 1;
        Files.write(file, concat(a, bad, a));
        List<byte[]> read = TfRecords.read(file);
        assertEquals(1, read.size());
        assertArrayEquals(new byte[] {1, 2, 3}, read.get(0));
    }

    /** Resuming from step 2 keeps the version event and steps 1..2 of an event file, in order. */
    @Test
    void dropAfterKeepsTheStepsUpToTheCheckpoint() throws Exception {
        Path file;
        try (EventFile events = EventFile.create(tmp.resolve("run"), "host", 100.0)) {
            for (int step = 1; step <= 4; step++) {
                events.write(Event.newBuilder().setStep(step).setSummary(Summary.newBuilder().addValue(
                        Summary.Value.newBuilder().setTag("train/loss").setSimpleValue(step))).build());
            }
            file = events.path();
        }
        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), Files.readAllBytes(file).length - 3),
                java.nio.file.StandardOpenOption.TRUNCATE_EXISTING); // a kill mid-record
        EventFile.dropAfter(file, 2);
        List<Event> kept = TfRecords.read(file).stream().map(r -> {
            try {
                return Event.parseFrom(r);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).toList();
        assertEquals(List.of(0L, 1L, 2L), kept.stream().map(Event::getStep).toList());
        assertEquals(EventFile.FILE_VERSION, kept.get(0).getFileVersion());
        assertEquals(2.0f, kept.get(2).getSummary().getValue(0).getSimpleValue());
    }

    /** A new file of a run is named to sort after the run's earlier files, even within the same second. */
    @Test
    void aNewFileSortsAfterTheEarlierOnes() throws Exception {
        Path run = tmp.resolve("run2");
        Path first;
        try (EventFile a = EventFile.create(run, "zz", 200.0)) {
            first = a.path();
        }
        try (EventFile b = EventFile.create(run, "aa", 200.0)) {
            assertEquals(List.of(first, b.path()), EventFile.eventFiles(run));
            assertEquals("events.out.tfevents.0000000201.aa", b.path().getFileName().toString().substring(0, 33));
        }
    }

    /** HF's rewrite_logs. */
    @Test
    void tagsAreHfTensorBoardNames() {
        assertEquals("train/loss", TensorBoardTracker.tag("loss"));
        assertEquals("train/rewards/chosen", TensorBoardTracker.tag("rewards/chosen"));
        assertEquals("train/learning_rate", TensorBoardTracker.tag("learning_rate"));
        assertEquals("eval/loss", TensorBoardTracker.tag("eval_loss"));
        assertEquals("eval/rewards/margins", TensorBoardTracker.tag("eval_rewards/margins"));
        assertEquals("test/loss", TensorBoardTracker.tag("test_loss"));
    }

    /** The epoch goes once per step: with the log, or with the evaluation when the step was not logged. */
    @Test
    void theEpochOncePerStep() {
        TrainerState state = new TrainerState(OrpoConfig.builder().build(), 10, 4);
        LoggedValues values = new LoggedValues();
        Map<String, Double> log = values.ofLog(state, Map.of("step", 0.0, "epoch", 0.0, "loss", 1.5));
        assertEquals(Map.of("epoch", 0.0, "loss", 1.5), log);
        assertEquals(Map.of("eval_loss", 2.0), values.ofEval(state, Map.of("eval_loss", 2.0)));
        LoggedValues fresh = new LoggedValues();
        assertEquals(Map.of("epoch", 0.0, "eval_loss", 2.0), fresh.ofEval(state, Map.of("eval_loss", 2.0)));
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuffer all = ByteBuffer.allocate(Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (byte[] p : parts) {
            all.put(p);
        }
        return all.array();
    }
}
