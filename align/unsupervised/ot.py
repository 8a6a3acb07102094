"""Thin re-export of the optimal-transport aligners, which now live in
:mod:`align.unsupervised.wasserstein` (Wasserstein-Procrustes, Sinkhorn plans) and
:mod:`align.unsupervised.gromov` (Gromov-Wasserstein). Kept so old imports keep working."""
from .gromov import GromovWassersteinAligner, entropic_gromov_wasserstein, gw_coupling  # noqa: F401
from .wasserstein import (WassersteinProcrustesAligner, convex_gram_init, sinkhorn_plan,  # noqa: F401
                          transport_plan)
from .wasserstein import __getattr__  # noqa: F401  (the deprecated name WassersteinProcrustes)
