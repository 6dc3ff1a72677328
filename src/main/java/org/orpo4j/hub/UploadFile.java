package org.orpo4j.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A file to commit: its path in the repository, where its bytes are (a local file, or bytes made in memory such
 * as a model card), its size, first 512 bytes (what the hub's preupload endpoint looks at), and its two ids: the
 * sha256 LFS stores it under and git's blob sha1, which the hub reports for files it already has.
 */
record UploadFile(String pathInRepo, Path source, byte[] content, long size, byte[] sample, String sha256,
        String gitSha1) {

    static UploadFile of(String pathInRepo, Path source) throws IOException {
        long size = Files.size(source);
        try (InputStream in = Files.newInputStream(source)) {
            return hashed(pathInRepo, source, null, size, in);
        }
    }

    static UploadFile of(String pathInRepo, byte[] content) throws IOException {
        try (InputStream in = new java.io.ByteArrayInputStream(content)) {
            return hashed(pathInRepo, null, content, content.length, in);
        }
    }

    private static UploadFile hashed(String path, Path source, byte[] content, long size, InputStream in)
            throws IOException {
        MessageDigest sha256 = digest("SHA-256");
        MessageDigest sha1 = digest("SHA-1");
        sha1.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
        byte[] sample = new byte[0];
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) >= 0; ) {
            if (sample.length < 512) {
                int take = Math.min(512 - sample.length, n);
                byte[] grown = Arrays.copyOf(sample, sample.length + take);
                System.arraycopy(buffer, 0, grown, sample.length, take);
                sample = grown;
            }
            sha256.update(buffer, 0, n);
            sha1.update(buffer, 0, n);
        }
        return new UploadFile(path, source, content, size, sample, HexFormat.of().formatHex(sha256.digest()),
                HexFormat.of().formatHex(sha1.digest()));
    }

    /** The bytes from {@code offset}, {@code length} of them. */
    InputStream open(long offset, long length) throws IOException {
        InputStream in = source != null ? Files.newInputStream(source) : new java.io.ByteArrayInputStream(content);
        in.skipNBytes(offset);
        return new LimitedStream(in, length);
    }

    byte[] readAll() throws IOException {
        try (InputStream in = open(0, size)) {
            return in.readAllBytes();
        }
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** At most {@code left} bytes of a stream. */
    private static final class LimitedStream extends java.io.FilterInputStream {
        private long left;

        LimitedStream(InputStream in, long left) {
            super(in);
            this.left = left;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }
}
