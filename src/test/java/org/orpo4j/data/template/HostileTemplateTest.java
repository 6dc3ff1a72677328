package org.orpo4j.data.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A chat template comes with a model or dataset from anywhere: it cannot read files, reach Java classes or the
 * environment, or run without end; each attempt is refused with a one-line error.
 */
class HostileTemplateTest {

    private static final Map<String, Object> VARIABLES = Map.of("messages",
            List.of(Map.of("role", "user", "content", "hi")), "add_generation_prompt", true);

    @ParameterizedTest
    @ValueSource(strings = {"{% include '/etc/passwd' %}", "{% import '/etc/passwd' as p %}{{ p }}",
            "{% from '/etc/passwd' import x %}{{ x }}", "{% extends '/etc/passwd' %}",
            "{% include 'org/orpo4j/data/template/JinjaEngine.class' %}"})
    void filesAreNeverRead(String template) {
        TemplateException e = assertThrows(TemplateException.class, () -> JinjaEngine.get().render(template,
                VARIABLES));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(!e.getMessage().contains("root:"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"{{ messages.getClass() }}", "{{ messages.getClass().forName('java.lang.Runtime') }}",
            "{{ ''.getClass().forName('java.lang.System').getenv() }}", "{{ messages[0].getClass().getName() }}",
            "{{ messages.class.name }}", "{{ ''.__class__ }}"})
    void javaIsOutOfReach(String template) {
        String out;
        try {
            out = JinjaEngine.get().render(template, VARIABLES);
        } catch (TemplateException e) {
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
            return;
        }
        assertTrue(out.isBlank(), "rendered " + out);
    }

    @Test
    void anEndlessLoopIsStoppedInTime() {
        long saved = JinjaEngine.timeLimitMs;
        JinjaEngine.timeLimitMs = 500;
        try {
            long start = System.nanoTime();
            TemplateException e = assertThrows(TemplateException.class, () -> JinjaEngine.get().render(
                    "{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
                            + "{% endfor %}{% endfor %}{% endfor %}", VARIABLES));
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals("the chat template took longer than 500 ms to render", e.getMessage());
            assertTrue(seconds < 5, "stopped after " + seconds + " s");
        } finally {
            JinjaEngine.timeLimitMs = saved;
        }
    }

    /** 10^10 × 10^6 characters: stopped at the output limit (64 Mi characters), long before the time limit. */
    @Test
    void outputIsBounded() {
        long start = System.nanoTime();
        TemplateException e = assertThrows(TemplateException.class, () -> JinjaEngine.get().render(
                "{% for a in range(100000) %}{% for b in range(100000) %}{{ messages[0].content|center(1000000) }}"
                        + "{% endfor %}{% endfor %}", VARIABLES));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(!e.getMessage().contains("took longer"), e.getMessage());
        assertTrue((System.nanoTime() - start) / 1e9 < 8, "stopped by the time limit, not the output's");
    }

    /**
     * Strings that grow quadratically inside one call ({@code s.replace('', s)}) are refused before they are built:
     * 10^5 × 10^5 characters would take 20 GB.
     */
    @ParameterizedTest
    @ValueSource(strings = {"{{ messages[0].content.replace('', messages[0].content) }}",
            "{% set s = messages[0].content %}{{ s.replace('a', s) }}",
            "{% set s = messages[0].content.replace('a', 'aaaaaaaaaa') %}{{ s.replace('a', s) }}"})
    void stringsThatWouldExplodeAreRefused(String template) {
        Map<String, Object> big = Map.of("messages", List.of(Map.of("role", "user", "content", "a".repeat(100_000))));
        long start = System.nanoTime();
        TemplateException e = assertThrows(TemplateException.class, () -> JinjaEngine.get().render(template, big));
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        assertTrue(e.getMessage().contains("builds a string of"), e.getMessage());
        assertTrue((System.nanoTime() - start) / 1e9 < 5, "refused at once");
    }
}
