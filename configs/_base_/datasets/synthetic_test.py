# Test split of the generated ground-truth clips (tools/make_synthetic.py):
# 32 frames at 128x128, one view, centre crop 112. Families set clip_len and
# frame_interval through `clip_len` / `frame_interval` below.
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
        ann_file=data_root + '/test_list.txt',
        data_prefix=dict(video=data_root + '/videos'),
        pipeline=test_pipeline,
        test_mode=True))
test_evaluator = dict(type='AccMetric')
test_cfg = dict(type='TestLoop')
