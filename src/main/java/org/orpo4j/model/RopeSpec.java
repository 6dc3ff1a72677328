package org.orpo4j.model;

/**
 * One rotary position embedding a layer uses, as transformers' rope functions compute it: the base {@code theta},
 * the scaling type (default, llama3, linear, longrope) with its parameters, how many leading dims of a head
 * rotate ({@code rotaryDim}: phi3's {@code partial_rotary_factor}), and the factor longrope puts on cos and sin.
 */
record RopeSpec(double theta, Kind kind, ModelConfig.RopeScaling llama3, double linearFactor, double[] shortFactor,
        double[] longFactor, int originalMaxPositions, double attentionFactor, int rotaryDim) {

    enum Kind { DEFAULT, LLAMA3, LINEAR, LONGROPE }

    /** Plain RoPE at base {@code theta} over {@code rotaryDim} dims. */
    static RopeSpec plain(double theta, int rotaryDim) {
        return new RopeSpec(theta, Kind.DEFAULT, null, 1, null, null, 0, 1, rotaryDim);
    }

    /**
     * {@code 1 / theta^(2i/d)} per rotated pair for a forward over positions {@code 0 .. positions-1}, then the
     * scaling: llama3's band-wise rescale, linear's {@code / factor}, or longrope's {@code / ext[i]} with the long
     * factors once {@code positions} exceeds {@code original_max_position_embeddings} (HF decides per forward).
     */
    float[] inverseFrequencies(long positions) {
        int half = rotaryDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            double freq = 1.0 / Math.pow(theta, (2.0 * i) / rotaryDim);
            inv[i] = (float) switch (kind) {
                case DEFAULT -> freq;
                case LLAMA3 -> llama3(freq, llama3);
                case LINEAR -> freq / linearFactor;
                case LONGROPE -> freq / (positions > originalMaxPositions ? longFactor[i] : shortFactor[i]);
            };
        }
        return inv;
    }

    /**
     * Llama 3.1's frequency rescaling: wavelengths longer than {@code original/low_freq_factor} are stretched by
     * {@code factor}, those shorter than {@code original/high_freq_factor} kept, and the band between blended.
     */
    private static double llama3(double freq, ModelConfig.RopeScaling s) {
        double original = s.originalMaxPositionEmbeddings();
        double lowFreqWavelen = original / s.lowFreqFactor();
        double highFreqWavelen = original / s.highFreqFactor();
        double wavelen = 2 * Math.PI / freq;
        if (wavelen < highFreqWavelen) {
            return freq;
        }
        if (wavelen > lowFreqWavelen) {
            return freq / s.factor();
        }
        double smooth = (original / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * freq / s.factor() + smooth * freq;
    }
}
