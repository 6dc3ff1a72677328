package org.orpo4j.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import org.orpo4j.runtime.Scalars;

/**
 * The numerically stable primitives the ORPO loss needs and DJL lacks (no log1p, expm1 or logsigmoid), built from
 * differentiable element-wise ops so autograd sees them. Each works in the dtype of its input (FLOAT32 or FLOAT64).
 */
final class StableMath {

    static final double LN2 = Math.log(2.0);

    /**
     * Upper cap on x in {@link #log1mexp}: at p = e^x = 1 exactly the odds are infinite and the gradient of
     * log(1 − e^x) is −∞, so x is held at −1e-30 (odds at most 1e30); float32 log-probs only reach 0 by rounding.
     */
    static final double LOG1MEXP_MAX_X = -1e-30;

    /** Degree + 1 of the Taylor series of (e^x − 1)/x; its tail at |x| = ln 2 is below 1e-18. */
    private static final int EXPM1_TERMS = 18;

    private StableMath() {}

    /**
     * log(1 + y) for y > −1, accurate for tiny |y| (Goldberg's identity y·log(w)/(w − 1) with w = 1 + y rounded,
     * and y itself where w rounds to 1). Both branches stay finite so {@code where} never leaks NaN into gradients.
     */
    static NDArray log1p(NDArray y) {
        NDArray w = y.add(1);
        NDArray roundsToOne = w.eq(1);
        NDArray denominator = NDArrays.where(roundsToOne, w.onesLike(), w.sub(1));
        return NDArrays.where(roundsToOne, y, y.mul(w.log()).div(denominator));
    }

    /**
     * log(1 − e^x) for x ≤ 0 (Mächler 2012): log(−expm1(x)) above −ln 2, log1p(−e^x) below. Each branch is fed a
     * copy of x clipped to its own domain, so the branch {@code where} discards is finite and has a finite gradient.
     */
    static NDArray log1mexp(NDArray x) {
        NDArray nearZero = x.gt(-LN2);
        NDArray xNear = x.clip(-LN2, LOG1MEXP_MAX_X);
        NDArray xFar = x.clip(Float.NEGATIVE_INFINITY, -LN2);
        // −expm1(x) = (−x) · (e^x − 1)/x, and (e^x − 1)/x ∈ [0.72, 1] here, so both logs are well conditioned
        NDArray near = xNear.neg().log().add(expm1OverX(xNear).log());
        NDArray far = log1p(xFar.exp().neg());
        return NDArrays.where(nearZero, near, far);
    }

    /** (e^x − 1)/x = Σ_k x^k/(k+1)! by Horner's rule, for |x| ≤ ln 2 (no cancellation, unlike e^x − 1). */
    static NDArray expm1OverX(NDArray x) {
        NDArray e = x.onesLike();
        for (int k = EXPM1_TERMS; k >= 2; k--) {
            e = e.mul(x).div(Scalars.like(x, k)).add(1);
        }
        return e;
    }

    /**
     * log σ(z): −log1p(e^−z) for z ≥ 0 and z − log1p(e^z) for z < 0, finite for every finite z. Each branch sees z
     * clipped to its own side (so the discarded one stays finite) and keeps its derivative accurate to the last
     * bit, where the one-line min(z, 0) − log1p(e^−|z|) would round σ(−z) ≈ 1e-18 against ½ − ½ to zero.
     */
    static NDArray logSigmoid(NDArray z) {
        NDArray negative = z.lt(0);
        NDArray zNeg = z.clip(-Float.MAX_VALUE, 0);
        NDArray zPos = z.clip(0, Float.MAX_VALUE);
        NDArray below = zNeg.sub(log1p(zNeg.exp()));
        NDArray above = log1p(zPos.neg().exp()).neg();
        return NDArrays.where(negative, below, above);
    }
}
