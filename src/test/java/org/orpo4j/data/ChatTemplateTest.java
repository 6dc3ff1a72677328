package org.orpo4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.orpo4j.data.template.TemplateException;

class ChatTemplateTest {

    private static final List<ChatMessage> CHAT = List.of(new ChatMessage("system", "Be brief."),
            new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"));

    @Test
    void llama3TemplateFromTheTokenizerWithBosToken() {
        ChatTemplate t = TestTokenizers.llama3().chatTemplate().orElseThrow();
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                t.render(CHAT.subList(0, 2), true));
    }

    @Test
    void continueFinalMessageStopsAfterItsContent() {
        ChatTemplate t = TestTokenizers.qwen3().chatTemplate().orElseThrow();
        // Qwen3 adds an empty think block to the last assistant turn and closes it with <|im_end|>\n
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
                + "<think>\n\n</think>\n\nHello", t.render(CHAT, false, true));
        ChatTemplate chatml = new ChatTemplate("{% for m in messages %}{{ m.content | trim }}|{% endfor %}", Map.of());
        assertEquals("a|Hel", chatml.render(List.of(new ChatMessage("user", "a"), new ChatMessage("assistant", "Hel  ")),
                false, true), "trailing spaces the template trimmed are not expected back");
    }

    @Test
    void raiseExceptionThrowsWithTheTemplatesMessage() {
        ChatTemplate t = new ChatTemplate("before{{ raise_exception('Only user and assistant roles') }}after", Map.of());
        TemplateException e = assertThrows(TemplateException.class, () -> t.render(CHAT, false));
        assertEquals("Only user and assistant roles", e.getMessage());
        assertTrue(e.raisedByTemplate());
        TemplateException syntax = assertThrows(TemplateException.class,
                () -> new ChatTemplate("{{ messages[ }}", Map.of()).render(CHAT, false));
        assertTrue(!syntax.raisedByTemplate() && syntax.getMessage().startsWith("line 1:"), syntax.getMessage());
    }

    @Test
    void messageTextIsNeverInterpretedAsTemplateCode() {
        ChatTemplate t = new ChatTemplate("{{ messages[0].content }}", Map.of());
        assertEquals("{{ 7 * 6 }} {% if x %}", t.render(List.of(new ChatMessage("user", "{{ 7 * 6 }} {% if x %}")), false));
    }
}
