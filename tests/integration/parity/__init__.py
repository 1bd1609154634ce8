"""Replays of AWS's recorded answers (../shared/spec/aws-recorded/lambda_) against Hearth."""
