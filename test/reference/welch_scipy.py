# Reference values for test/unit/campaign_test.cpp: Welch interval, p-value and df from scipy.stats
# on a fixed sample (run with /usr/bin/python3; needs numpy and scipy).
import numpy as np
from scipy import stats
rng = np.random.default_rng(7)
t = np.round(rng.normal(52.0, 20.0, 40), 2)
c = np.round(rng.normal(45.0, 12.0, 55), 2)
r = stats.ttest_ind(t, c, equal_var=False)
a = t.var(ddof=1)/len(t); b = c.var(ddof=1)/len(c); se = np.sqrt(a+b)
df = (a+b)**2/(a*a/(len(t)-1) + b*b/(len(c)-1))
q = stats.t.ppf(0.975, df); u = t.mean()-c.mean()
print("t =", list(map(float,t)))
print("c =", list(map(float,c)))
print(repr(u), repr(u-q*se), repr(u+q*se), repr(float(r.pvalue)), repr(df), repr(float(r.statistic)))
# scipy 1.10's t.ppf (cephes stdtrit) is off by about 1e-9 here; the exact
# quantile by mpmath (40 digits) gives the interval the C++ test asserts.
import mpmath
mpmath.mp.dps = 40
f = lambda x: mpmath.betainc(df / 2, 0.5, 0, df / (df + x * x), regularized=True) / 2 - 0.025
q_exact = float(mpmath.findroot(f, q))
print("exact interval", repr(u - q_exact * se), repr(u + q_exact * se))
