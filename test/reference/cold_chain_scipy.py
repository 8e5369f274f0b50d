#!/usr/bin/python3
"""Reference numbers for test/unit/cold_chain_test.cpp (crm::fit_cooling).

Generates noisy Newton warming/cooling readings with a fixed seed and fits them
with scipy.optimize.curve_fit (MINPACK Levenberg-Marquardt, no bounds), the
de facto reference for this kind of fit. The readings and the estimates are
printed with repr() precision so the C++ test can embed them verbatim: the
test feeds the same readings to fit_cooling and expects the same least-squares
optimum to 1e-4 relative.

Run with Debian's interpreter (numpy and scipy from apt):
    /usr/bin/python3 test/reference/cold_chain_scipy.py
Produced with numpy 1.24.2, scipy 1.10.1.
"""
import numpy as np
from scipy.optimize import curve_fit

EPOCH = 1_700_000_000.0  # Unix-time-like origin, to exercise large t values
SEED = 20240611


def curve(x, t0, ambient, tau):
    # Same formula as crm::predict_temperature, with expm1 for accuracy.
    return t0 + (ambient - t0) * (-np.expm1(-x / tau))


def make_readings(rng, n, t0, ambient, tau, sigma, min_gap, max_gap):
    # Irregular spacing: whole-second gaps drawn uniformly.
    gaps = np.round(rng.uniform(min_gap, max_gap, size=n - 1))
    x = np.concatenate([[0.0], np.cumsum(gaps)])
    t = EPOCH + x
    y = curve(x, t0, ambient, tau) + rng.normal(0.0, sigma, size=n)
    return t, y


def tight_fit(f, x, y, p0):
    # Tight tolerances so the reference is the optimum, not a point near it.
    popt, _, info, _, ier = curve_fit(f, x, y, p0=p0, full_output=True,
                                      ftol=1e-12, xtol=1e-12, maxfev=10000)
    assert ier in (1, 2, 3, 4), ier
    return popt, info["nfev"]


def report(name, t, y, popt, rmse, labels):
    print(f"// ---- {name}: {len(t)} readings")
    for ti, yi in zip(t, y):
        print(f"    {{{ti!r}, {yi!r}}},")
    for label, value in zip(labels, popt):
        print(f"// {name} {label} = {value!r}")
    print(f"// {name} rmse = {rmse!r}")


def three_parameter_case(rng, name, n, t0, ambient, tau, sigma, min_gap, max_gap):
    t, y = make_readings(rng, n, t0, ambient, tau, sigma, min_gap, max_gap)
    x = t - t.min()
    popt, nfev = tight_fit(curve, x, y, p0=(y[0], y[-1], (x[-1] - x[0]) / 3))
    # A second, deliberately poor start must land on the same optimum.
    popt2, _ = tight_fit(curve, x, y, p0=(y[0] + 1.0, y[-1] - 1.0, x[-1]))
    assert np.allclose(popt, popt2, rtol=1e-8, atol=0), (popt, popt2)
    rmse = float(np.sqrt(np.mean((curve(x, *popt) - y) ** 2)))
    report(name, t, y, popt, rmse, ("t0", "ambient", "tau"))
    print(f"// {name} nfev = {nfev}")


def known_ambient_case(rng, name, n, t0, ambient, tau, sigma, min_gap, max_gap):
    t, y = make_readings(rng, n, t0, ambient, tau, sigma, min_gap, max_gap)
    x = t - t.min()

    def fixed(x, t0_, tau_):
        return curve(x, t0_, ambient, tau_)

    popt, nfev = tight_fit(fixed, x, y, p0=(y[0], (x[-1] - x[0]) / 3))
    rmse = float(np.sqrt(np.mean((fixed(x, *popt) - y) ** 2)))
    print(f"// {name} known ambient = {ambient!r}")
    report(name, t, y, popt, rmse, ("t0", "tau"))
    print(f"// {name} nfev = {nfev}")


def main():
    rng = np.random.default_rng(SEED)
    three_parameter_case(rng, "warming3", n=45, t0=3.5, ambient=21.0, tau=2100.0,
                         sigma=0.12, min_gap=60, max_gap=420)
    known_ambient_case(rng, "cooling2", n=36, t0=24.0, ambient=6.0, tau=1500.0,
                       sigma=0.2, min_gap=90, max_gap=400)
    three_parameter_case(rng, "cooling3", n=14, t0=30.0, ambient=4.0, tau=900.0,
                         sigma=0.3, min_gap=100, max_gap=600)

    # Mean kinetic temperature of 20 and 30 degC with equal weights, to 30
    # digits, as a check of the hand calculation in the test.
    try:
        import mpmath
        mpmath.mp.dps = 40
        k = mpmath.mpf(83144) / mpmath.mpf("8.314462618")
        s = (mpmath.exp(-k / mpmath.mpf("293.15")) + mpmath.exp(-k / mpmath.mpf("303.15"))) / 2
        print("// mkt(20, 30) =", mpmath.nstr(k / (-mpmath.log(s)) - mpmath.mpf("273.15"), 30))
        print("// dH/R =", mpmath.nstr(k, 30))
    except ImportError:
        pass


if __name__ == "__main__":
    main()
