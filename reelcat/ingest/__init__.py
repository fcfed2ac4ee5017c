"""From files to embedded frames: the manifest (ffprobe, fingerprints), ffmpeg frame
sampling, the CLIP image encoder, the Ray pipeline; step runs them over the archive."""
