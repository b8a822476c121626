# Attention rollout for TimeSformer (divided space-time attention).
explainer = dict(type='AttentionRollout', head_fusion='mean',
                 residual_weight=0.5)
