/* vg_error.h - the library's error codes: functions that can fail return 0
 * or one of these negative values. */
#ifndef VG_ERROR_H
#define VG_ERROR_H

#define VG_OK 0
#define VG_ENOMEM (-1) /* an allocation failed */
#define VG_EIO (-2)    /* a file could not be read */
#define VG_EINVAL (-3) /* bad input; details in the diagnostics */
#define VG_ELIMIT (-4) /* a size or depth limit was reached */
#define VG_ENOTFOUND (-5)

const char *vg_strerror(int code);

#endif
