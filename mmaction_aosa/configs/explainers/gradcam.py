# Grad-CAM on the last conv stage (both SlowFast pathways; TimeSformer's
# patch tokens at the input of the last layer), upsampled trilinearly.
explainer = dict(type='GradCAM', target_layer=None, score='logit')
