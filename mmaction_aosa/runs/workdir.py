"""The work dir of a run, as the run layer sees it.

The layout, the lock and the provenance checks live in one class,
:class:`mmaction_aosa.workdir.WorkDir` (low in the package, so that the
writer hooks and the explain model ask it too); this module re-exports
what the run layer and earlier callers import from here.
"""
from ..workdir import (FINGERPRINT_KEYS, LOCK_FILE, LOCK_WAIT_S,  # noqa
                       OLD_SUMMARY_FILE, RUN_FILE, SHARED_MAP_KEYS,
                       SUMMARY_FILE, MapCheck, WorkDir, _held, count_maps,
                       fingerprint_parts, lock_work_dir, maps_done, plain,
                       read_summary, release_work_dir, releases_work_dirs)

__all__ = ['FINGERPRINT_KEYS', 'LOCK_FILE', 'LOCK_WAIT_S', 'MapCheck',
           'OLD_SUMMARY_FILE', 'RUN_FILE', 'SHARED_MAP_KEYS', 'SUMMARY_FILE',
           'WorkDir', 'count_maps', 'fingerprint_parts', 'lock_work_dir',
           'maps_done', 'plain', 'read_summary', 'release_work_dir',
           'releases_work_dirs']
