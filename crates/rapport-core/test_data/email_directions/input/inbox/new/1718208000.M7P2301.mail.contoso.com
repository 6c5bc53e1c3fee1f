Message-ID: <20240612160000.8h@contoso.com>
Date: Wed, 12 Jun 2024 16:00:00 +0000
From: Alice Smith <alice@contoso.com>
To: "Doe, Dan" <dan@fabrikam.com>, =?UTF-8?B?RXJpbiBLw7ZobGVy?=
	<erin@fabrikam.com>
Subject: Contract draft
Content-Type: text/plain

Draft attached.
