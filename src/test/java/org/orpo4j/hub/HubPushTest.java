package org.orpo4j.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: a folder with a 50 MB weights file goes up to a loopback hub (FakeUploadHub checks every request as
 * the hub does), a cut part is resent alone, a push stopped by a storage outage is resumed by the next push without
 * the files it had stored, a push whose commit failed resends no LFS bytes, a second push of the
 * same folder sends no file bytes and makes no commit, and a wrong token is one line naming the 401.
 */
class HubPushTest {

    private static final int BIG = 50 << 20;

    @TempDir
    Path tmp;
    private FakeUploadHub hub;
    private Path folder;
    private byte[] weights;

    @BeforeEach
    void setUp() throws Exception {
        hub = new FakeUploadHub();
        folder = tmp.resolve("run");
        Files.createDirectories(folder.resolve("checkpoint-1"));
        weights = new byte[BIG];
        new Random(1).nextBytes(weights);
        Files.write(folder.resolve("model.safetensors"), weights);
        Files.writeString(folder.resolve("config.json"), "{\"model_type\": \"llama\", \"_name_or_path\": \"org/base\"}");
        Files.writeString(folder.resolve("orpo_config.json"), "{\"learningRate\": 8e-06, \"beta\": 0.1}");
        Files.writeString(folder.resolve("checkpoint-1/trainer_state.json"), "{\"global_step\": 1}");
    }

    @AfterEach
    void tearDown() {
        hub.close();
    }

    private HubPush push(String token) {
        return new HubPush(URI.create(hub.endpoint() + "/"), token, 10, 100_000_000L);
    }

    @Test
    void uploadsTheFolderInOneCommit() throws Exception {
        HubPush.Result r = push(FakeUploadHub.TOKEN).push(folder, "org/tuned",
                new HubPush.Options(true, "main", "first", null, List.of("org/prefs")));
        FakeUploadHub.Repo repo = hub.repos.get("org/tuned");
        assertTrue(repo.isPrivate);
        assertEquals(1, repo.commits.size());
        assertEquals(repo.commits.get(0), r.commit());
        Map<String, byte[]> files = repo.branches.get("main");
        assertEquals(List.of("README.md", "checkpoint-1/trainer_state.json", "config.json", "model.safetensors",
                "orpo_config.json"), List.copyOf(files.keySet()));
        assertArrayEquals(weights, files.get("model.safetensors"));
        String card = new String(files.get("README.md"), StandardCharsets.UTF_8);
        assertTrue(card.startsWith("---\nbase_model: org/base\ndatasets:\n- org/prefs\nlibrary_name: transformers\n"), card);
        assertTrue(card.contains("| learningRate | 8.0E-6 |") || card.contains("| learningRate | 8e-06 |"), card);
        // every file byte once: 50 MB through three multipart parts of LFS, the small files in the commit
        long small = files.entrySet().stream().filter(e -> !e.getKey().equals("model.safetensors"))
                .mapToLong(e -> e.getValue().length).sum();
        assertEquals(BIG + small, hub.fileBytes.get());
        assertEquals(BIG + small, r.bytesSent());
        // the token went to the hub only, never to the storage URLs
        assertTrue(hub.log.stream().filter(l -> l.startsWith("STORAGE")).allMatch(l -> l.endsWith(" null")), hub.log.toString());
        assertEquals(7, hub.log.stream().filter(l -> l.startsWith("STORAGE PUT /part/")).count());
    }

    @Test
    void secondPushOfUnchangedFilesSendsNoBytes() throws Exception {
        push(FakeUploadHub.TOKEN).push(folder, "org/tuned", HubPush.Options.defaults());
        long before = hub.fileBytes.get();
        HubPush.Result again = push(FakeUploadHub.TOKEN).push(folder, "org/tuned", HubPush.Options.defaults());
        assertNull(again.commit());
        assertEquals(5, again.filesUnchanged());
        assertEquals(before, hub.fileBytes.get(), "no file bytes the second time");
        assertEquals(1, hub.repos.get("org/tuned").commits.size(), "no second commit");
        // one changed file: only it is sent
        Files.writeString(folder.resolve("checkpoint-1/trainer_state.json"), "{\"global_step\": 2}");
        HubPush.Result third = push(FakeUploadHub.TOKEN).push(folder, "org/tuned", HubPush.Options.defaults());
        assertEquals(1, third.filesCommitted());
        assertEquals(before + "{\"global_step\": 2}".length(), hub.fileBytes.get());
    }

    @Test
    void aCutPartIsResentAlone() throws Exception {
        String oid = UploadFile.of("model.safetensors", folder.resolve("model.safetensors")).sha256();
        hub.cutPartOnce.add(oid + "/3");
        push(FakeUploadHub.TOKEN).push(folder, "org/tuned", HubPush.Options.defaults());
        assertArrayEquals(weights, hub.repos.get("org/tuned").branches.get("main").get("model.safetensors"));
        long part = FakeUploadHub.CHUNK;
        long small = hub.repos.get("org/tuned").branches.get("main").entrySet().stream()
                .filter(e -> !e.getKey().equals("model.safetensors")).mapToLong(e -> e.getValue().length).sum();
        assertEquals(BIG + part / 2 + small, hub.fileBytes.get(), "the cut part's first half is all that went twice");
        assertEquals(2, hub.log.stream().filter(l -> l.startsWith("STORAGE PUT /part/" + oid + "/3 ")).count());
    }

    @Test
    void aFailedCommitIsResumedWithoutResendingLfsBytes() throws Exception {
        hub.commitsFail = true;
        HubException e = assertThrows(HubException.class,
                () -> push(FakeUploadHub.TOKEN).push(folder, "org/tuned", HubPush.Options.defaults()));
        assertTrue(e.getMessage().startsWith("org/tuned: commit: failed after 4 attempts: HTTP 503"), e.getMessage());
        assertTrue(hub.repos.get("org/tuned").commits.isEmpty());
        long afterFirst = hub.fileBytes.get();
        hub.commitsFail = false;
        push(FakeUploadHub.TOKEN).push(folder, "org/tuned", HubPush.Options.defaults());
        long small = hub.repos.get("org/tuned").branches.get("main").entrySet().stream()
                .filter(x -> !x.getKey().equals("model.safetensors")).mapToLong(x -> x.getValue().length).sum();
        assertEquals(afterFirst + small, hub.fileBytes.get(), "the 50 MB went up once");
        assertArrayEquals(weights, hub.repos.get("org/tuned").branches.get("main").get("model.safetensors"));
    }

    @Test
    void anInterruptedPushResumesFromTheFilesItSent() throws Exception {
        // two shards; the storage refuses the second shard's second part until the outage ends
        Files.move(folder.resolve("model.safetensors"), folder.resolve("model-00001-of-00002.safetensors"));
        byte[] second = new byte[20 << 20];
        new Random(2).nextBytes(second);
        Files.write(folder.resolve("model-00002-of-00002.safetensors"), second);
        String oid = UploadFile.of("s", folder.resolve("model-00002-of-00002.safetensors")).sha256();
        hub.refuseParts.add(oid + "/2");
        HubException e = assertThrows(HubException.class,
                () -> push(FakeUploadHub.TOKEN).push(folder, "org/tuned", HubPush.Options.defaults()));
        assertEquals("org/tuned: model-00002-of-00002.safetensors part 2: failed after 4 attempts: HTTP 503 from"
                + " 127.0.0.1 (run the push again: files the hub holds already are not sent twice)", e.getMessage());
        assertTrue(hub.repos.get("org/tuned").commits.isEmpty(), "nothing committed");
        long afterFirst = hub.fileBytes.get();
        assertEquals(BIG + 8L * (1 << 20) * (1 + 4), afterFirst, "the first shard, then part 1 once and part 2 four times");

        hub.refuseParts.clear();
        HubPush.Result r = push(FakeUploadHub.TOKEN).push(folder, "org/tuned", HubPush.Options.defaults());
        Map<String, byte[]> files = hub.repos.get("org/tuned").branches.get("main");
        assertArrayEquals(weights, files.get("model-00001-of-00002.safetensors"));
        assertArrayEquals(second, files.get("model-00002-of-00002.safetensors"));
        long small = files.entrySet().stream().filter(x -> !x.getKey().endsWith(".safetensors"))
                .mapToLong(x -> x.getValue().length).sum();
        assertEquals(second.length + small, hub.fileBytes.get() - afterFirst,
                "the 50 MB shard the first push stored is not sent again; the cut shard is sent whole");
        assertEquals(second.length + small, r.bytesSent());
        assertEquals(1, hub.repos.get("org/tuned").commits.size());
    }

    @Test
    void aWrongTokenIsOneLine() {
        HubException e = assertThrows(HubException.class,
                () -> push("hf_wrong").push(folder, "org/tuned", HubPush.Options.defaults()));
        assertEquals("org/tuned: create the repository: the token was rejected (HTTP 401) (the hub says: Invalid"
                + " credentials in Authorization header): check HF_TOKEN (or the token file) and its access to"
                + " org/tuned", e.getMessage());
        HubException none = assertThrows(HubException.class,
                () -> push(null).push(folder, "org/tuned", HubPush.Options.defaults()));
        assertTrue(none.getMessage().startsWith("pushing to org/tuned needs a token: set HF_TOKEN"), none.getMessage());
    }

    @Test
    void aNameWithoutOrgGoesToTheTokensUser() throws Exception {
        HubPush.Result r = push(FakeUploadHub.TOKEN).push(folder, "tuned", HubPush.Options.defaults());
        assertEquals("me/tuned", r.repo());
        assertEquals(5, hub.repos.get("me/tuned").branches.get("main").size());
    }

    @Test
    void pushesToABranch() throws Exception {
        push(FakeUploadHub.TOKEN).push(folder, "org/tuned", new HubPush.Options(false, "v2", null, null, null));
        FakeUploadHub.Repo repo = hub.repos.get("org/tuned");
        assertTrue(repo.branches.get("main").isEmpty());
        assertEquals(5, repo.branches.get("v2").size());
    }
}
