package org.orpo4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile or compromised hub endpoint ({@link FakeHub} told to lie): whatever its ETags, file lists and redirects
 * say, nothing is written or linked outside the cache, the token never leaves the hub's own scheme, host and port,
 * and every refusal is one line. The last test fuzzes all three with seeded mutations.
 */
class HostileHubTest {

    @TempDir
    Path tmp;
    FakeHub server;
    Path victim; // what an attacker would like to overwrite: a folder beside the cache
    Map<String, byte[]> files;

    @BeforeEach
    void setUp() throws IOException {
        server = new FakeHub();
        files = new LinkedHashMap<>();
        files.put("config.json", "{\"model_type\": \"llama\"}".getBytes(StandardCharsets.UTF_8));
        files.put("model.safetensors", new byte[4096]);
        server.publish("models", "org/tiny", files, false);
        victim = Files.createDirectories(tmp.resolve("victim"));
        Files.writeString(victim.resolve("x"), "precious");
        Files.writeString(tmp.resolve("x"), "precious");
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    private Hub hub() throws IOException {
        return Hub.fromEnvironment(new HashMap<>(Map.of("HF_HUB_CACHE", tmp.resolve("cache").toString(),
                "HF_ENDPOINT", server.endpoint().toString(), "HF_HOME", tmp.resolve("home").toString(),
                "HF_TOKEN", FakeHub.TOKEN)));
    }

    @Test
    void etagsThatAreNotShaSumsNeverBecomeFileNames() throws Exception {
        for (String etag : List.of("\"../../../victim/x\"", "W/\"../../x\"", "\"/etc/passwd\"", "\"abc\"",
                "\"" + "a".repeat(40) + "/../../x\"", "\"" + "A".repeat(64) + "\"", "\"..\"", "\"\"")) {
            server.etagFor.put("config.json", etag);
            HubException e = assertThrows(HubException.class, () -> hub().model("org/tiny"), etag);
            assertOneLine(e, "org/tiny: config.json: the hub sent ETag '");
            assertTrue(e.getMessage().endsWith("', neither a sha1 nor a sha256; refusing to use it as a file name"),
                    e.getMessage());
            assertUntouched();
        }
    }

    @Test
    void fileNamesThatLeaveTheSnapshotAreRefused() throws Exception {
        for (String name : List.of("../../victim/x", "../../../x", "/tmp/abs.safetensors", "a\\..\\..\\x",
                "a//b.safetensors", "./config.json", "sub/../../x", "x\u0000.safetensors", "..", "")) {
            server.extraSiblings.clear();
            server.extraSiblings.add(name);
            HubException e = assertThrows(HubException.class, () -> hub().model("org/tiny"), name);
            assertOneLine(e, "org/tiny: the hub lists an unsafe file name '");
            assertUntouched();
        }
        server.publish("datasets", "org/prefs", Map.of("train.jsonl", new byte[] {'{', '}'}), false);
        server.extraSiblings.clear();
        server.extraSiblings.add("../../../victim/train.jsonl"); // a split file by the datasets library's patterns
        assertOneLine(assertThrows(HubException.class, () -> hub().dataset("org/prefs", "train")),
                "dataset org/prefs: the hub lists an unsafe file name '../../../victim/train.jsonl'");
        assertUntouched();
    }

    @Test
    void redirectsElsewhereThanHttpAreRefusedAndTheTokenStaysOnTheHub() throws Exception {
        for (String location : List.of("file:///etc/passwd", "ftp://127.0.0.1/x", "jar:file:/x!/y", "http://",
                "::not a uri::")) {
            server.locationFor.put("config.json", location);
            HubException e = assertThrows(HubException.class, () -> hub().model("org/tiny"), location);
            assertOneLine(e, "org/tiny: config.json: the hub redirected to '");
            assertUntouched();
        }
        server.locationFor.put("config.json", "http://localhost:" + server.endpoint().getPort() + "/elsewhere");
        assertThrows(HubException.class, () -> hub().model("org/tiny"));
        assertTrue(server.log.stream().filter(l -> l.contains("/elsewhere")).allMatch(l -> l.endsWith(" null")),
                "another host name gets no token: " + server.log);
    }

    @Test
    void theTokenGoesToTheHubsOwnSchemeHostAndPortOnly() {
        HubClient hub = new HubClient(URI.create("https://huggingface.co/"), "hf_secret", Long.MAX_VALUE);
        assertTrue(hub.sendsTokenTo(URI.create("https://huggingface.co/api/models/org/x/revision/main")));
        assertTrue(hub.sendsTokenTo(URI.create("https://huggingface.co:443/org/x/resolve/main/config.json")));
        assertFalse(hub.sendsTokenTo(URI.create("http://huggingface.co/org/x/resolve/main/config.json")),
                "never over http to a hub reached over https");
        assertFalse(hub.sendsTokenTo(URI.create("https://cdn-lfs.huggingface.co/repos/ab/cd")));
        assertFalse(hub.sendsTokenTo(URI.create("https://huggingface.co:8443/x")));
        HubClient local = new HubClient(URI.create("http://127.0.0.1:8080/"), "hf_secret", Long.MAX_VALUE);
        assertTrue(local.sendsTokenTo(URI.create("http://127.0.0.1:8080/x")), "a plain-http hub endpoint keeps it");
        assertFalse(local.sendsTokenTo(URI.create("http://127.0.0.1:8081/x")));
        assertFalse(new HubClient(URI.create("https://huggingface.co/"), null, 1).sendsTokenTo(
                URI.create("https://huggingface.co/x")));
    }

    /**
     * 300 seeded hostile answers mixing the three lies (and the odd honest one): each download succeeds or fails
     * with a one-line {@link IOException}; no other exception, and nothing outside the cache changes.
     */
    @Test
    void fuzzedHostileAnswersNeverEscapeTheCache() throws Exception {
        Random random = new Random(20261204);
        String[] pieces = {"..", "/", "\\", ".", "x", "victim", "\u0000", "\n", "%2e%2e", "W/", "\"", "ü", "a",
            "0123456789abcdef0123456789abcdef01234567", "~", "C:", "//", " "};
        int ok = 0;
        int refused = 0;
        for (int i = 0; i < 300; i++) {
            server.etagFor.clear();
            server.locationFor.clear();
            server.extraSiblings.clear();
            String lie = junk(random, pieces);
            switch (random.nextInt(4)) {
                case 0 -> server.etagFor.put(random.nextBoolean() ? "config.json" : "model.safetensors", lie);
                case 1 -> server.extraSiblings.add(lie.isEmpty() ? "x" : lie);
                case 2 -> server.locationFor.put("config.json", random.nextBoolean() ? lie
                        : server.endpoint() + "/" + lie);
                default -> { } // honest
            }
            Path cache = tmp.resolve("cache");
            try {
                Path folder = hub().model("org/tiny");
                assertTrue(folder.startsWith(cache), folder.toString());
                ok++;
            } catch (IOException e) {
                assertEquals(1, e.getMessage().lines().count(), e.getMessage());
                refused++;
            }
            assertUntouched();
            if (random.nextInt(10) == 0) {
                deleteTree(cache); // sometimes start from an empty cache
            }
        }
        assertTrue(ok > 0 && refused > 0, "ok " + ok + ", refused " + refused);
    }

    private static String junk(Random random, String[] pieces) {
        StringBuilder s = new StringBuilder();
        for (int n = random.nextInt(8); n > 0; n--) {
            s.append(pieces[random.nextInt(pieces.length)]);
        }
        return s.toString();
    }

    /** Outside the cache only the test's own files exist, as they were; no link in the cache points out of it. */
    private void assertUntouched() throws IOException {
        assertEquals("precious", Files.readString(victim.resolve("x")));
        assertEquals("precious", Files.readString(tmp.resolve("x")));
        Map<String, Boolean> outside = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(tmp)) {
            walk.filter(p -> !p.startsWith(tmp.resolve("cache")) && !p.equals(tmp))
                    .forEach(p -> outside.put(tmp.relativize(p).toString(), Files.isDirectory(p)));
        }
        outside.keySet().removeIf(p -> p.startsWith("home"));
        assertEquals(Map.of("victim", true, "victim/x", false, "x", false), outside);
        Path cache = tmp.resolve("cache").toAbsolutePath().normalize();
        if (Files.exists(cache)) {
            List<Path> links = new ArrayList<>();
            try (Stream<Path> walk = Files.walk(cache)) {
                walk.filter(Files::isSymbolicLink).forEach(links::add);
            }
            for (Path link : links) {
                Path target = link.getParent().resolve(Files.readSymbolicLink(link)).normalize();
                assertTrue(target.startsWith(cache), link + " -> " + target);
                assertTrue(Files.exists(link, LinkOption.NOFOLLOW_LINKS));
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (Files.exists(root)) {
            try (Stream<Path> walk = Files.walk(root)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private static void assertOneLine(Exception e, String start) {
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }
}
