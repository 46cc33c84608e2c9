-- Why a retained robot frame is not radiometric (placeholder calibration, a model known not to
-- measure temperature, a raw range outside the camera's), recorded when it arrives; NULL when the
-- frame measures temperature (TH-02). The list of frames says so without decoding each one.
ALTER TABLE thermal_robot_frames ADD COLUMN not_radiometric TEXT;
