"""Fast configurations of every registered estimator (tiny data, seconds), shared by the
conformance and convention tests."""
import align.unsupervised as U
from align.supervised import LinearTranslator, MLPTranslator, ProcrustesTranslator
from align.unsupervised import restarts  # noqa: F401  (registers RestartsAligner)

UNSUPERVISED = {
    "SelfLearningRefiner": lambda **kw: U.SelfLearningRefiner(
        n_iter=2, init=U.StructureMatchingAligner(init="principal_axes", n_refine=1), **kw),
    "AdversarialAligner": lambda **kw: U.AdversarialAligner(n_epochs=1, steps_per_epoch=10, dis_hidden=16,
                                                            dis_steps=1, n_refine=1, batch_size=32, **kw),
    "CycleAligner": lambda **kw: U.CycleAligner(n_epochs=1, hidden=16, dis_hidden=16, batch_size=32,
                                                steps_per_epoch=5, n_refine=1, **kw),
    "WassersteinProcrustesAligner": lambda **kw: U.WassersteinProcrustesAligner(
        batch_size=64, max_batch=128, n_epochs=1, n_iter=3, init_sample=64, n_refine=2, **kw),
    "GromovWassersteinAligner": lambda **kw: U.GromovWassersteinAligner(n_sample=120, max_iter=10, epsilon=0.05,
                                                                        n_refine=2, **kw),
    "StructureMatchingAligner": lambda **kw: U.StructureMatchingAligner(init="sorted_sim", n_sample=200,
                                                                        n_refine=2, **kw),
    "AssignmentProcrustesAligner": lambda **kw: U.AssignmentProcrustesAligner(
        start="sorted_sim", n_sample=200, block_size=64, n_rounds=2, n_refine=1, **kw),
    "RestartsAligner": lambda **kw: U.RestartsAligner(start="sorted_sim", n_restarts=2, n_sample=100,
                                                      restart_iter=1, n_refine=2, **kw),
    "AnchorEnsembleAligner": lambda **kw: U.AnchorEnsembleAligner(
        n_runs=3, n_clusters=4, run_sample=100, n_sample=150, n_neighbors=5, n_smooth=3, n_final_clusters=8,
        n_refine=1, **kw),
}
SUPERVISED = {
    "LinearTranslator": lambda **kw: LinearTranslator(**kw),
    "ProcrustesTranslator": lambda **kw: ProcrustesTranslator(**kw),
    "MLPTranslator": lambda **kw: MLPTranslator(hidden=8, epochs=2, threads=1, **kw),
}
ALL = {**SUPERVISED, **UNSUPERVISED}
