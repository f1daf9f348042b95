/*-------------------------------------------------------------------------
 *
 * users.c
 *		users/caller and the older users/current: who the caller is.
 *
 * users/caller answers the user identity dictionary itself, not wrapped
 * in a "users" array: CloudKit JS (Apple's own client) hands the response
 * body to the application as the identity.
 *
 * A web-auth token's user is named after the user name given on the
 * command line (or at /_ckemu/signin); the S2S caller is the developer who
 * owns the key.
 *
 * test/ckemu/users.c
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "ckemu.h"

void
emu_op_users_caller(EmuRequest *req, json_object *body)
{
	emu_lit(&req->out, "{\"userRecordName\":");
	emu_json_string(&req->out, req->caller.user);
	if (req->caller.user_name[0] != '\0')
	{
		emu_lit(&req->out, ",\"nameComponents\":{\"givenName\":");
		emu_json_string(&req->out, req->caller.user_name);
		emu_lit(&req->out, ",\"familyName\":\"\"}");
	}
	emu_lit(&req->out, "}");
	req->status = 200;
	req->answered = true;
}

void
emu_op_users_current(EmuRequest *req, json_object *body)
{
	emu_lit(&req->out, "{\"userRecordName\":");
	emu_json_string(&req->out, req->caller.user);
	emu_lit(&req->out, ",\"firstName\":");
	emu_json_string(&req->out, req->caller.user_name);
	emu_lit(&req->out, ",\"lastName\":\"\"}");
	req->status = 200;
	req->answered = true;
}
