# Saliency metrics in a plain mmengine test run (no tools/eval_saliency.py):
#   import mmaction_aosa
#   from mmaction_aosa.compat import load_checkpoint
#   runner = Runner.from_cfg(Config.fromfile(
#       'configs/eval/eval_tiny_r3d_synthetic.py'))
#   load_checkpoint(runner.model.recognizer,
#                   'checkpoints/tiny_r3d_synthetic.pth')
#   runner.test()
# (tools/eval_saliency.py builds the same pieces from any test config.)
# The model explains each clip (AOSA-approx here); the metrics of the test
# evaluator score each map (deletion/insertion run the recognizer) and
# aggregate them with S-PT and time per map.
_base_ = ['../tiny/tiny_r3d_synthetic.py']

explainer = dict(
    type='AOSAApprox', anchor_stride=8, box_size=16, num_cooccurring=3,
    map_form='mean_drop', fill='conditional', relu=True, score='prob')
model = dict(
    _delete_=True,
    type='ExplainModel',
    recognizer={{_base_.model}},
    explainer=explainer)

# the pointing game needs the clip's geometry in the data samples
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs',
         meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp',
                    'frame_inds', 'start_index', 'num_clips', 'clip_len',
                    'scale_factor', 'crop_bbox', 'original_shape')),
]
# ExplainDataset adds video_id / video_path (the pointing game finds the
# boxes next to the video) and turns undecodable videos into failed samples
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type='ExplainDataset',
        dataset=dict(
            type='VideoDataset',
            data_root='data/synthetic',
            ann_file='test/ann.txt',
            data_prefix=dict(video='test'),
            pipeline=test_pipeline,
            test_mode=True)))
test_evaluator = [
    dict(type='SaliencySummary'),  # maps made, failed
    dict(type='TimePerMap'),
    # 28 steps (the paper's setting), 16 perturbed clips per forward pass
    dict(type='DeletionInsertion', steps=28, batch_size=16),
    dict(type='SpatialPointingGame', boxes='auto'),
]
test_cfg = dict(type='TestLoop')
# The weights belong to model.recognizer (keys without the 'recognizer.'
# prefix), and torch >= 2.6 needs the safe loader of mmaction_aosa.compat:
# load them as above rather than through load_from.
load_from = None
