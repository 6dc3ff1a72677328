package org.orpo4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The JNI header committed with DJL's sources (src/main/native/djl/include) declares exactly the native methods of
 * the {@code PyTorchLibrary} class in the DJL jar the pom resolves: a header out of step with the jar would compile
 * into a library whose functions DJL can't find (or finds under another signature).
 */
class JniHeaderTest {

    @Test
    void theHeaderDeclaresEveryNativeMethodOfDjlsPyTorchLibrary() throws Exception {
        String header = Files.readString(Path.of("src/main/native/djl/include/ai_djl_pytorch_jni_PyTorchLibrary.h"));
        Class<?> library = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary", false, getClass().getClassLoader());
        List<Method> natives = Arrays.stream(library.getDeclaredMethods())
                .filter(m -> Modifier.isNative(m.getModifiers())).toList();
        Matcher declared = Pattern.compile("JNIEXPORT \\S+ JNICALL (Java_ai_djl_pytorch_jni_PyTorchLibrary_\\w+)")
                .matcher(header);
        List<String> names = declared.results().map(r -> r.group(1)).toList();
        assertEquals(natives.size(), names.size(), "native methods in the jar vs functions in the header");
        for (Method m : natives) {
            String stem = "Java_ai_djl_pytorch_jni_PyTorchLibrary_" + m.getName().replace("_", "_1");
            assertTrue(names.stream().anyMatch(n -> n.equals(stem) || n.startsWith(stem + "__")),
                    m.getName() + " has no declaration in the header");
        }
    }
}
