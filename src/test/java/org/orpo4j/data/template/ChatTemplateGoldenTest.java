package org.orpo4j.data.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of golden/data/chat_templates.json (transformers' own tokenizer.apply_chat_template, written by
 * src/test/python/chat_template_golden.py) renders to the same bytes, or raises the same raise_exception message.
 */
class ChatTemplateGoldenTest {

    /** The instant the golden script pins strftime_now to. */
    static final Clock GOLDEN_CLOCK = Clock.fixed(LocalDateTime.of(2024, 7, 26, 9, 5, 3).toInstant(ZoneOffset.UTC),
            ZoneOffset.UTC);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> rendersLikeJinja2() throws IOException {
        JsonNode cases = JSON.readTree(resource("/golden/data/chat_templates.json"));
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : cases) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> check(c)));
        }
        assertTrue(tests.size() >= 30, "golden cases missing");
        return tests.stream();
    }

    private static void check(JsonNode c) throws IOException {
        String source = template(c.get("template").asText());
        Map<String, Object> variables = new LinkedHashMap<>();
        variables.put("messages", JSON.convertValue(c.get("messages"), List.class));
        variables.put("add_generation_prompt", c.get("add_generation_prompt").asBoolean());
        variables.put("tools", null);
        @SuppressWarnings("unchecked")
        Map<String, Object> extra = JSON.convertValue(c.get("variables"), LinkedHashMap.class);
        variables.putAll(extra);
        if (c.has("error")) {
            TemplateException e = assertThrows(TemplateException.class,
                    () -> JinjaEngine.get().render(source, variables, GOLDEN_CLOCK));
            assertEquals(c.get("error").asText(), e.getMessage());
            assertTrue(e.raisedByTemplate());
        } else {
            String expected = c.get("expected").asText();
            String actual = JinjaEngine.get().render(source, variables, GOLDEN_CLOCK);
            assertEquals(expected, actual, () -> firstDifference(expected, actual));
        }
    }

    static String template(String name) throws IOException {
        if (name.equals("llama3") || name.equals("qwen3")) {
            return JSON.readTree(resource("/tokenizers/" + name + "/tokenizer_config.json")).get("chat_template").asText();
        }
        try (InputStream in = ChatTemplateGoldenTest.class.getResourceAsStream("/golden/data/templates/" + name + ".jinja")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static InputStream resource(String path) {
        return ChatTemplateGoldenTest.class.getResourceAsStream(path);
    }

    private static String firstDifference(String expected, String actual) {
        int i = 0;
        while (i < Math.min(expected.length(), actual.length()) && expected.charAt(i) == actual.charAt(i)) {
            i++;
        }
        return "first difference at char " + i + ": expected «" + snippet(expected, i) + "» got «" + snippet(actual, i) + "»";
    }

    private static String snippet(String s, int i) {
        return s.substring(Math.max(0, i - 20), Math.min(s.length(), i + 30)).replace("\n", "\\n");
    }
}
