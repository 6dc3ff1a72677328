package org.orpo4j.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance 2: two hosts for real, made inside the test as two network namespaces joined by a veth pair
 * (10.77.0.1 and 10.77.0.2, nothing else reachable), one rank in each, Gloo bound to each side's veth
 * (GLOO_SOCKET_IFNAME): the weights after 3 steps equal one process's on the same rows, as on one host. Needs
 * root for {@code ip netns} (CI's container has it); elsewhere the test says why it cannot run.
 */
class MultiHostTest {

    private static final String[] NS = {"orpo4j-host0", "orpo4j-host1"};

    @TempDir
    Path dir;

    @AfterEach
    void removeHosts() throws Exception {
        for (String ns : NS) {
            sh("ip", "netns", "del", ns);
        }
    }

    @Test
    void twoHostsOverVethEqualOneProcess() throws Exception {
        Assumptions.assumeTrue(sh("ip", "netns", "add", NS[0]) == 0,
                "ip netns add needs root (CAP_SYS_ADMIN): the two-host test cannot make its hosts here");
        assertEquals(0, sh("ip", "netns", "add", NS[1]));
        assertEquals(0, sh("ip", "link", "add", "orpo4j-v0", "type", "veth", "peer", "name", "orpo4j-v1"));
        for (int h = 0; h < 2; h++) {
            assertEquals(0, sh("ip", "link", "set", "orpo4j-v" + h, "netns", NS[h]));
            assertEquals(0, sh("ip", "netns", "exec", NS[h], "ip", "addr", "add", "10.77.0." + (h + 1) + "/24",
                    "dev", "orpo4j-v" + h));
            assertEquals(0, sh("ip", "netns", "exec", NS[h], "ip", "link", "set", "orpo4j-v" + h, "up"));
            assertEquals(0, sh("ip", "netns", "exec", NS[h], "ip", "link", "set", "lo", "up"));
        }
        Process single = Workers.start(Workers.java(DdpTrainMain.class, dir.resolve("one").toString(),
                dir.resolve("dump-one").toString(), "plain", "4", "1", "3", "0"), Map.of(), dir.resolve("one.log"));
        List<Process> hosts = new ArrayList<>();
        for (int h = 0; h < 2; h++) {
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", NS[h]));
            cmd.addAll(Workers.java(DdpTrainMain.class, dir.resolve("two").toString(),
                    dir.resolve("dump-two").toString(), "plain", "2", "1", "3", "0"));
            Map<String, String> env = new java.util.HashMap<>(new RankEnv(h, 0, 2, 1, "10.77.0.1", 29511)
                    .variables());
            env.put("GLOO_SOCKET_IFNAME", "orpo4j-v" + h);
            hosts.add(Workers.start(cmd, env, dir.resolve("host" + h + ".log")));
        }
        for (Process p : List.of(single, hosts.get(0), hosts.get(1))) {
            assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        }
        assertEquals(0, single.exitValue(), Workers.log(dir.resolve("one.log")));
        for (int h = 0; h < 2; h++) {
            assertEquals(0, hosts.get(h).exitValue(), Workers.log(dir.resolve("host" + h + ".log")));
        }
        float[] one = flat(dir.resolve("dump-one/rank0.bin"));
        float[] r0 = flat(dir.resolve("dump-two/rank0.bin"));
        assertArrayEquals(r0, flat(dir.resolve("dump-two/rank1.bin")), 0f, "the hosts' weights differ");
        double worst = 0;
        for (int i = 0; i < one.length; i++) {
            worst = Math.max(worst, Math.abs(one[i] - r0[i]));
        }
        assertTrue(worst <= 1e-5, "max abs diff " + worst);
        System.out.printf("two hosts over veth: max abs weight diff vs one process = %.3g%n", worst);
    }

    /** Every value of a dump in file order (names and lengths skipped). */
    private static float[] flat(Path file) throws IOException {
        List<Float> v = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            while (in.available() > 0) {
                in.readUTF();
                for (int n = in.readInt(); n > 0; n--) {
                    v.add(in.readFloat());
                }
            }
        }
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i);
        }
        return out;
    }

    private static int sh(String... cmd) throws IOException, InterruptedException {
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor();
    }
}
