package org.orpo4j.tracking;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * TFRecord framing, the container of TensorBoard event files: each record is its length (uint64), the length's
 * masked CRC32C, the data and the data's masked CRC32C, all little-endian. The mask (rotate right by 15, add a
 * constant) keeps a CRC of data that itself holds CRCs from being trivially zero.
 */
final class TfRecords {

    private static final int MASK_DELTA = 0xa282ead8;

    private TfRecords() {}

    /** {@code data} framed as one record. */
    static byte[] frame(byte[] data) {
        ByteBuffer record = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        record.putLong(data.length);
        record.putInt(maskedCrc32c(record.array(), 0, 8));
        record.put(data);
        record.putInt(maskedCrc32c(data, 0, data.length));
        return record.array();
    }

    /** TensorFlow's masked CRC32C of {@code bytes[offset, offset + length)}. */
    static int maskedCrc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + MASK_DELTA;
    }

    /**
     * The records of {@code file} in order, up to the first one that is cut short or fails its checksums: what a
     * writer killed mid-record leaves is dropped, as readers drop it.
     */
    static List<byte[]> read(Path file) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> records = new ArrayList<>();
        while (in.remaining() >= 12) {
            int start = in.position();
            long length = in.getLong();
            int lengthCrc = in.getInt();
            if (lengthCrc != maskedCrc32c(in.array(), start, 8) || length > in.remaining() - 4L) {
                break;
            }
            byte[] data = new byte[(int) length];
            in.get(data);
            if (in.getInt() != maskedCrc32c(data, 0, data.length)) {
                break;
            }
            records.add(data);
        }
        return records;
    }
}
