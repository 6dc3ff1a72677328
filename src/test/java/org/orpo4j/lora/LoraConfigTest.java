package org.orpo4j.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** PEFT's target rule for a list of names: a layer is targeted when its path equals an entry or ends in "." + it. */
class LoraConfigTest {

    @Test
    void modulePathsAsPeftSavesThemForAllLinearTargetExactlyThoseLayers() {
        LoraConfig config = new LoraConfig(4, 8, 0, List.of("model.layers.0.mlp.up_proj", "v_proj"), false, null);
        assertTrue(config.targets("model.layers.0.mlp.up_proj"));
        assertFalse(config.targets("model.layers.1.mlp.up_proj"), "another layer's up_proj");
        assertFalse(config.targets("model.layers.10.mlp.up_proj"));
        assertTrue(config.targets("model.layers.1.self_attn.v_proj"), "a short name matches in every layer");
        assertFalse(config.targets("model.layers.0.mlp.down_proj"));
        assertFalse(config.targets("model.layers.0.self_attn.q_proj"));
    }

    @Test
    void aPathToAModuleThatIsNotALinearLayerIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LoraConfig(4, 8, 0, List.of("model.layers.0.input_layernorm"), false, null));
        assertEquals("lora target module 'model.layers.0.input_layernorm' is not one of " + LoraConfig.LINEAR_MODULES
                + " or all-linear", e.getMessage());
    }
}
