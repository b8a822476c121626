# Test split of the generated ground-truth clips (tools/make_synthetic.py
# --out data/synthetic/test): 32 frames at 128x128, one view, centre crop
# 112. Family configs override the test pipeline's frame sampling.
dataset_type = 'VideoDataset'
data_root = 'data/synthetic'
clip_len = 16
frame_interval = 2
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='test/ann.txt',
        data_prefix=dict(video='test'),
        pipeline=test_pipeline,
        test_mode=True))
test_evaluator = dict(type='AccMetric')
test_cfg = dict(type='TestLoop')
