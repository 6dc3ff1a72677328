package org.orpo4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.orpo4j.cli.DemoAssets;

/**
 * The README's front door, taken literally: a new Maven project made of the README's consumer pom and its two Java
 * programs, against the packaged orpo4j jar installed (as the README's {@code mvn install} does) into an empty local
 * repository of the test's own, compiles; its compile class path holds no CLI-only or test library; and the
 * programs make a tiny model and train it with ORPO.
 */
class ConsumerProjectIT {

    /** The command the README gives for putting orpo4j into the local Maven repository. */
    static final String INSTALL = "mvn -B -q install -DskipTests";

    @TempDir
    Path tmp;

    @Test
    void theReadmeProjectCompilesStaysLeanAndTrains() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        Path project = tmp.resolve("consumer");
        Path sources = Files.createDirectories(project.resolve("src/main/java/org/orpo4j/examples"));
        Files.writeString(project.resolve("pom.xml"), blocks(section(readme, "## Maven"), "xml").get(0));
        for (String program : blocks(section(readme, "## Train from Java"), "java")) {
            Matcher name = Pattern.compile("public final class (\\w+)").matcher(program);
            assertTrue(name.find(), program);
            Files.writeString(sources.resolve(name.group(1) + ".java"), program);
        }

        // the README's install step, into a local repository of the test's own: empty, so the consumer's build
        // downloads every other artifact itself, as on a new machine, and the user's ~/.m2 is never touched
        assertTrue(section(readme, "## Maven").contains("\n" + INSTALL + "\n"), "the README says: " + INSTALL);
        String repo = "-Dmaven.repo.local=" + tmp.resolve("m2");
        mvn(Path.of("."), repo, "org.apache.maven.plugins:maven-install-plugin:3.1.2:install-file",
                "-Dfile=" + System.getProperty("orpo4j.jar"), "-DpomFile=pom.xml");
        mvn(project, repo, "compile", "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath",
                "-Dmdep.includeScope=compile", "-Dmdep.outputFile=compile.txt");
        mvn(project, repo, "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath",
                "-Dmdep.includeScope=runtime", "-Dmdep.outputFile=runtime.txt");
        String compile = Files.readString(project.resolve("compile.txt"));
        assertTrue(compile.contains("orpo4j-0.1.0-SNAPSHOT.jar"), compile);
        List<String> jars = java.util.Arrays.stream(compile.strip().split(":"))
                .map(jar -> Path.of(jar).getFileName().toString()).toList(); // the temp folder is junit-...
        for (String forbidden : List.of("picocli", "xchart", "pdfbox", "junit", "opentest4j", "duckdb", "protobuf",
                "mlflow")) {
            assertTrue(jars.stream().noneMatch(jar -> jar.contains(forbidden)),
                    forbidden + " on the consumer's compile class path: " + jars);
        }

        Path tokenizer = DemoAssets.writeTokenizer(Files.createDirectories(tmp.resolve("tokenizer")));
        Path pairs = DemoAssets.copy(DemoAssets.TRAIN, tmp.resolve("pairs.jsonl"));
        String classPath = project.resolve("target/classes") + ":" + Files.readString(project.resolve("runtime.txt"));
        String made = java(classPath, "org.orpo4j.examples.TinyModel", tokenizer.toString(),
                tmp.resolve("tiny").toString());
        assertFalse(made.contains("ai.djl"), "DJL's start-up lines stay quiet, the tokenizer loaded first:\n" + made);
        Path run = tmp.resolve("run");
        String out = java(classPath, "org.orpo4j.examples.QuickStart", tmp.resolve("tiny").toString(),
                pairs.toString(), run.toString(), "2");
        assertTrue(out.contains("trained 2 steps into " + run), out);
        assertTrue(Files.exists(run.resolve("model.safetensors")));
        List<String> metrics = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertTrue(metrics.get(metrics.size() - 1).startsWith("{\"step\":2,"), metrics.toString());
    }

    /** The text of a README section, from its heading to the next one. */
    static String section(String readme, String heading) {
        int start = readme.indexOf("\n" + heading + "\n");
        assertTrue(start >= 0, heading);
        int end = readme.indexOf("\n## ", start + 1);
        return readme.substring(start, end < 0 ? readme.length() : end);
    }

    /** The fenced code blocks of one language in {@code text}. */
    static List<String> blocks(String text, String language) {
        List<String> found = new ArrayList<>();
        Matcher m = Pattern.compile("```" + language + "\n(.*?)```", Pattern.DOTALL).matcher(text);
        while (m.find()) {
            found.add(m.group(1));
        }
        return found;
    }

    private static void mvn(Path dir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("mvn", "-B", "-q"));
        cmd.addAll(List.of(args));
        run(dir, cmd);
    }

    private static String java(String classPath, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath));
        cmd.addAll(List.of(args));
        return run(Path.of("."), cmd);
    }

    private static String run(Path dir, List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "timed out: " + cmd);
        assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + " failed:\n" + output);
        return output;
    }
}
