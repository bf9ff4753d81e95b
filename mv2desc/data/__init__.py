"""The dataset <-> model contract: the row schema (:mod:`~mv2desc.data.schema`) and the FeatureSpec (:mod:`~mv2desc.data.spec`)."""
