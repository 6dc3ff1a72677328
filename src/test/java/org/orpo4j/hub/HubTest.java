package org.orpo4j.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Downloads from a loopback hub ({@link FakeHub}) into a temporary HuggingFace cache. */
class HubTest {

    @TempDir
    Path tmp;
    FakeHub server;
    Map<String, byte[]> files;
    String commit;
    byte[] weights;

    @BeforeEach
    void setUp() throws IOException {
        server = new FakeHub();
        weights = new byte[300_000];
        new Random(1).nextBytes(weights);
        files = new LinkedHashMap<>();
        files.put("config.json", "{\"model_type\": \"llama\"}".getBytes(StandardCharsets.UTF_8));
        files.put("tokenizer.json", "{\"version\": \"1.0\"}".getBytes(StandardCharsets.UTF_8));
        files.put("tokenizer_config.json", "{}".getBytes(StandardCharsets.UTF_8));
        files.put("model.safetensors", weights);
        files.put("pytorch_model.bin", new byte[] {1, 2, 3});
        files.put("README.md", "# tiny".getBytes(StandardCharsets.UTF_8));
        files.put("onnx/model.onnx", new byte[] {4, 5});
        commit = server.publish("models", "org/tiny", files, false);
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    private Map<String, String> env(String... extra) {
        Map<String, String> env = new HashMap<>(Map.of("HF_HUB_CACHE", tmp.resolve("cache").toString(),
                "HF_ENDPOINT", server.endpoint().toString(), "HF_HOME", tmp.resolve("home").toString()));
        for (int i = 0; i < extra.length; i += 2) {
            env.put(extra[i], extra[i + 1]);
        }
        return env;
    }

    private Path repo() {
        return tmp.resolve("cache/models--org--tiny");
    }

    @Test
    void downloadsWhatARunReadsIntoTheHuggingFaceCacheLayout() throws Exception {
        Path folder = Hub.fromEnvironment(env("HF_TOKEN", FakeHub.TOKEN)).model("org/tiny");
        assertEquals(repo().resolve("snapshots").resolve(commit), folder);
        assertEquals(commit, Files.readString(repo().resolve("refs/main")), "refs/main holds the commit, no newline");
        try (Stream<Path> listed = Files.list(folder)) {
            assertEquals(List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"),
                    listed.map(p -> p.getFileName().toString()).sorted().toList(), "no .bin, README or onnx");
        }
        for (String file : List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")) {
            Path link = folder.resolve(file);
            assertTrue(Files.isSymbolicLink(link), file);
            String etag = file.equals("model.safetensors") ? FakeHub.sha("SHA-256", files.get(file))
                    : FakeHub.sha("sha1", files.get(file));
            assertEquals(Path.of("../../blobs/" + etag), Files.readSymbolicLink(link), file);
            assertArrayEquals(files.get(file), Files.readAllBytes(link), file);
        }
        assertTrue(server.log.stream().filter(l -> l.startsWith("HUB")).allMatch(l -> l.endsWith("Bearer "
                + FakeHub.TOKEN)), "the hub gets the token: " + server.log);
        assertTrue(server.log.stream().filter(l -> l.startsWith("CDN")).allMatch(l -> l.endsWith(" null")),
                "the CDN never sees the token: " + server.log);
        int requests = server.log.size();
        assertEquals(folder, Hub.fromEnvironment(env()).model("org/tiny"));
        assertEquals(requests + 1, server.log.size(), "cached files are not fetched again (one revision call)");
    }

    @Test
    void aCutDownloadResumesWithARangeRequest() throws Exception {
        server.cutOnce.add(FakeHub.sha("SHA-256", weights));
        Path folder = Hub.fromEnvironment(env()).model("org/tiny");
        assertArrayEquals(weights, Files.readAllBytes(folder.resolve("model.safetensors")));
        List<String> cdn = server.log.stream().filter(l -> l.startsWith("CDN")).toList();
        assertEquals(2, cdn.size(), cdn::toString);
        // the second request asks for the rest: from what arrived before the cut (at most the half that was sent)
        java.util.regex.Matcher range = java.util.regex.Pattern.compile(".* bytes=(\\d+)- .*").matcher(cdn.get(1));
        assertTrue(range.matches(), cdn::toString);
        long from = Long.parseLong(range.group(1));
        assertTrue(from > 0 && from <= weights.length / 2, cdn::toString);
    }

    @Test
    void aFileWhoseSha256DiffersIsRefusedAndLeavesNothingBehind() throws Exception {
        server.corrupt.add(FakeHub.sha("SHA-256", weights));
        HubException e = assertThrows(HubException.class, () -> Hub.fromEnvironment(env()).model("org/tiny"));
        assertOneLine(e, "org/tiny: model.safetensors: sha256 ");
        assertTrue(e.getMessage().endsWith("; the download was discarded"), e.getMessage());
        assertNoPartialFiles("model.safetensors");
    }

    @Test
    void aNetworkFailureAfterRetriesIsOneLineAndLeavesTheSnapshotClean() throws Exception {
        server.cutAlways.add(FakeHub.sha("SHA-256", weights));
        HubException e = assertThrows(HubException.class, () -> Hub.fromEnvironment(env()).model("org/tiny"));
        assertOneLine(e, "org/tiny: model.safetensors: download failed after 3 attempts: ");
        assertFalse(Files.exists(repo().resolve("snapshots").resolve(commit).resolve("model.safetensors")));
        server.cutAlways.clear(); // the next run resumes the kept partial blob
        int before = server.log.size();
        Path folder = Hub.fromEnvironment(env()).model("org/tiny");
        assertArrayEquals(weights, Files.readAllBytes(folder.resolve("model.safetensors")));
        assertTrue(server.log.subList(before, server.log.size()).stream().anyMatch(l -> l.startsWith("CDN GET")
                && l.matches(".* bytes=[1-9][0-9]*- .*")), () -> "resumed: " + server.log);
    }

    @Test
    void aGatedRepositoryNeedsTheToken() throws Exception {
        server.publish("models", "org/gated", files, true);
        HubException e = assertThrows(HubException.class, () -> Hub.fromEnvironment(env()).model("org/gated"));
        assertOneLine(e, "org/gated: the file list: the repository is gated (HTTP 401) (the hub says: Access to model"
                + " org/gated is restricted. You must have access to it and be authenticated to access it.): accept its"
                + " terms on the hub with the account of HF_TOKEN, and set HF_TOKEN");
        HubException wrong = assertThrows(HubException.class,
                () -> Hub.fromEnvironment(env("HF_TOKEN", "hf_not_it")).model("org/gated"));
        assertOneLine(wrong, "org/gated: the file list: the token was rejected (HTTP 401) (the hub says: Invalid"
                + " credentials in Authorization header): check HF_TOKEN (or the token file) and its access to org/gated");
        Files.createDirectories(tmp.resolve("home"));
        Files.writeString(tmp.resolve("home/token"), FakeHub.TOKEN + "\n"); // huggingface-cli login's file
        Path folder = Hub.fromEnvironment(env()).model("org/gated");
        assertArrayEquals(weights, Files.readAllBytes(folder.resolve("model.safetensors")));
    }

    @Test
    void anUnknownRepositoryOrRevisionIsOneLine() throws Exception {
        assertOneLine(assertThrows(HubException.class, () -> Hub.fromEnvironment(env()).model("org/nope")),
                "org/nope: the file list: repository not found on " + server.endpoint() + "/ (the hub says: Repository"
                        + " not found) (check the name; a private repository needs HF_TOKEN)");
        assertOneLine(assertThrows(HubException.class, () -> Hub.fromEnvironment(env()).model("org/tiny@v9")),
                "org/tiny@v9: the file list: revision 'v9' not found (the hub says: Invalid rev id: v9) (a branch, tag"
                        + " or commit of org/tiny)");
    }

    @Test
    void offlineUsesTheCacheAndNeverTheNetwork() throws Exception {
        HubException e = assertThrows(HubException.class,
                () -> Hub.fromEnvironment(env("HF_HUB_OFFLINE", "1")).model("org/tiny"));
        assertOneLine(e, "org/tiny: HF_HUB_OFFLINE is set and nothing is cached in ");
        assertTrue(server.log.isEmpty(), server.log::toString);
        Path folder = Hub.fromEnvironment(env()).model("org/tiny");
        server.close();
        server.log.clear();
        assertEquals(folder, Hub.fromEnvironment(env("HF_HUB_OFFLINE", "1")).model("org/tiny"));
        assertEquals(folder, Hub.fromEnvironment(env()).model("org/tiny"), "an unreachable hub falls back to the cache");
    }

    @Test
    void anUnreachableHubWithNothingCachedIsOneLine() throws Exception {
        server.close();
        HubException e = assertThrows(HubException.class, () -> Hub.fromEnvironment(env()).model("org/tiny"));
        assertOneLine(e, "org/tiny: the hub is unreachable (");
        assertTrue(e.getMessage().contains("nothing is cached in " + tmp.resolve("cache")), e.getMessage());
    }

    @Test
    void aLocalFolderWinsOverAHubName() throws Exception {
        Path local = Files.createDirectories(Path.of("target", "hub-test-" + ProcessHandle.current().pid()));
        try {
            String name = local.toString(); // "target/hub-test-N": a hub name too
            assertTrue(RepoId.looksLikeRepo(name));
            assertEquals(local, Hub.fromEnvironment(env()).model(name));
            assertEquals(Path.of("target"), Hub.fromEnvironment(env()).model("target"), "a one-word folder");
            assertTrue(server.log.isEmpty(), server.log::toString);
        } finally {
            Files.delete(local);
        }
    }

    @Test
    void datasetSplitsAreFoundByTheDatasetsLibrarysPatterns() throws Exception {
        byte[] train = "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n".getBytes(StandardCharsets.UTF_8);
        server.publish("datasets", "org/prefs", Map.of("README.md", new byte[1],
                "data/train-00000-of-00002.parquet", new byte[] {1}, "data/train-00001-of-00002.parquet",
                new byte[] {2}, "data/test-00000-of-00001.parquet", new byte[] {3}, "extra/notes.json", train), false);
        Hub hub = Hub.fromEnvironment(env());
        List<Path> paths = hub.dataset("org/prefs", "train");
        Path snapshot = tmp.resolve("cache/datasets--org--prefs/snapshots");
        assertEquals(2, paths.size());
        assertTrue(paths.get(0).startsWith(snapshot) && paths.get(0).endsWith("data/train-00000-of-00002.parquet"),
                paths::toString);
        assertArrayEquals(new byte[] {2}, Files.readAllBytes(paths.get(1)));
        assertEquals(1, hub.dataset("org/prefs", "test").size());
        assertOneLine(assertThrows(HubException.class, () -> hub.dataset("org/prefs", "validation")),
                "dataset org/prefs: no data files for split 'validation' (splits found: test, train)");
    }

    private static void assertOneLine(Exception e, String start) {
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }

    /** No file of the snapshot and no blob; a partial download only as blobs/*.incomplete. */
    private void assertNoPartialFiles(String file) throws IOException {
        assertFalse(Files.exists(repo().resolve("snapshots").resolve(commit).resolve(file), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        try (Stream<Path> blobs = Files.list(repo().resolve("blobs"))) {
            assertTrue(blobs.noneMatch(p -> p.getFileName().toString().startsWith(FakeHub.sha("SHA-256", weights))),
                    "no blob of the refused file");
        }
    }
}
