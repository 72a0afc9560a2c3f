#!/bin/sh
echo "example app $(cat /opt/app/VERSION) ($VARIANT variant) with: $(ls /opt/deps/installed | tr '\n' ' ')"
